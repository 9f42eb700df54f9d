"""Re-exporting a published generator from its own `generator.keras`.

When the export pipeline changes (a new graph, a new format) but the weights do
not, a publication is rebuilt from the `.keras` file it already ships, not from
a training run: `reexport_published(name)` (`zoo publish --reexport NAME`)
exports it again with the default (portable) target, checks that the weights
are the same array for array and that the new ONNX file reproduces the old test
vectors, and then replaces `export/<name>/` and the export facts of the model card.
`generator.keras` and `saved_model.zip` keep their old bytes (same contents; a
new save differs only in dates and names), and a `gan.keras` (the whole GAN, no
exported graph) is carried over as it is, so git history holds new copies only
of the files whose graphs changed. The card's metrics and samples stay (they
were measured on the same weights) unless `remeasure=True` (`--remeasure`) asks
to draw and measure them again. Nothing is replaced unless every check passed.
"""

import json
import os
import time

from zoo.errors import ZooError
from zoo.files import remove_dead_temporaries, remove_path, write_bytes_atomically
from zoo.publish.artifact import check_sizes, export_folder, verify_published, zip_saved_model
from zoo.publish.card import card_export_facts, card_metrics, render_readme, render_samples
from zoo.publish.catalogue import CARD_FILE, json_bytes, read_card, rebuild_catalogue, repository_root
from zoo.publish.evaluation import DEFAULT_N_EVAL, evaluate_folder, portable_evaluation
from zoo.publish.staging import replace_folder, staging_folder

# The old and new test-vector images must agree this closely (the parity gate's tolerance).
SAME_OUTPUT_ATOL = 1e-5


def reexport_published(name, *, repo_root=None, remeasure=False):
    """Rebuilds `export/<name>/` from its `generator.keras` with the current exporter.

    Args:
        name: a published name (`models/<name>/card.json` exists).
        repo_root: the repository. Defaults to this checkout.
        remeasure: also draw the card's samples and measure its metrics again
            (with the card's own protocol: `n`, `seed`), e.g. after the latent
            draw changed. Defaults to `False`.

    Returns:
        A dict with `name`, `sizes` (`{file: bytes}`), `export_bytes`, `parity`
        (`{runtime: max abs error}` of `zoo verify`), `max_output_change`
        (largest error of the new ONNX file on the old test vectors) and `seconds`.

    Raises:
        ZooError: one line when the publication is not intact, the weights or
            outputs changed, or a limit is exceeded; nothing is replaced then.

    Example:

    >>> reexport_published("dcgan-fashion-mnist")["parity"]["onnxruntime"] < 1e-4
    True
    """
    from zoo.export.manifest import read_manifest
    from zoo.export.verify import verify_artifact

    started = time.perf_counter()
    root = repository_root(repo_root)
    export_root = os.path.join(root, "export")
    target = os.path.join(export_root, name)
    card = read_card(root, name)
    remove_dead_temporaries(export_root, name)  # a killed run's parked folder goes back first
    old = verify_artifact(target, runtimes=("onnxruntime",))
    if not old.passed:
        raise ZooError(f"export/{name} does not verify as it stands ({old.failures[0]}); publish it from its run instead.")
    manifest = read_manifest(target)
    staging = staging_folder(export_root, name, "reexport")
    try:
        folder = os.path.join(staging, name)
        checked = _export_again(target, manifest, folder, name, export_root)
        new_manifest = read_manifest(folder)
        card["io"] = new_manifest["io"]
        card["export"] = card_export_facts(new_manifest, checked["report"])
        samples_png = _remeasure(card, folder, new_manifest, name, root) if remeasure else None
        card = json.loads(json_bytes(card))
        readme = render_readme(card, checked["sizes"])
        replace_folder(folder, target, staging)
    finally:
        remove_path(staging)
    model_dir = os.path.join(root, "models", name)
    if samples_png is not None:
        write_bytes_atomically(os.path.join(model_dir, "samples.png"), samples_png)
    write_bytes_atomically(os.path.join(model_dir, CARD_FILE), json_bytes(card))
    write_bytes_atomically(os.path.join(model_dir, "README.md"), readme.encode("utf-8"))
    rebuild_catalogue(root)
    return {
        "name": name,
        "kept": checked["kept"],
        "sizes": checked["sizes"],
        "export_bytes": checked["export_bytes"],
        "parity": checked["parity"],
        "max_output_change": checked["change"],
        "seconds": time.perf_counter() - started,
    }


def _export_again(target, manifest, folder, name, export_root):
    """Exports `target`'s generator into `folder` and checks it: same weights, same outputs, verified, sizes."""
    from zoo.export.loading import load_exportable

    from zoo.export.manifest import manifest_record

    facts = manifest_record(manifest, source=f"{target}/manifest.json")
    generator = load_exportable(os.path.join(target, manifest["formats"]["keras"]))
    report = export_folder(
        generator, folder, dataset=facts.dataset, training_steps=facts.training_steps, class_names=facts.class_names,
    )
    _check_same_weights(os.path.join(target, manifest["formats"]["keras"]), os.path.join(folder, "generator.keras"))
    change = _check_same_outputs(target, folder)
    zip_saved_model(folder, name)
    kept = _keep_unchanged_files(target, manifest, folder)
    parity = verify_published(folder, name)
    sizes, export_bytes = check_sizes(folder, export_root, name)
    return {"report": report, "change": change, "kept": kept, "parity": parity, "sizes": sizes,
            "export_bytes": export_bytes}


def _remeasure(card, folder, manifest, name, root):
    """Draws the card's samples and measures its metrics again (same protocol); returns the samples PNG."""
    samples_png, card["samples"] = render_samples(os.path.join(folder, "generator.keras"), manifest["model"], name)
    protocol = (card.get("metrics") or {}).get("protocol") or {}
    evaluation = evaluate_folder(folder, card["dataset"], protocol.get("n", DEFAULT_N_EVAL), protocol.get("seed", 0))
    if evaluation is not None:
        evaluation = portable_evaluation(evaluation, folder, name, root)
        card["metrics"] = card_metrics(evaluation, name, card["dataset"])
    return samples_png


def _keep_unchanged_files(old_folder, old_manifest, new_folder):
    """Puts the old bytes of `generator.keras` and `saved_model.zip` back into `new_folder`, and `gan.keras`.

    Their contents are the same (the weights were compared array for array, and
    the SavedModel comes from the same tracing code); only the dates and names a
    save writes differ, and git history should not hold a new copy for that. The
    manifest's file table is rewritten for them, and the folder is verified
    afterwards, so a kept file is checked like a new one.
    """
    import shutil

    from zoo.export.manifest import file_entries, read_manifest, write_manifest

    kept = []
    new_manifest = read_manifest(new_folder)
    for format_name in ("keras", "savedmodel"):
        old_relative = old_manifest["formats"].get(format_name)
        if old_relative is None or new_manifest["formats"].get(format_name) != old_relative:
            continue
        shutil.copyfile(os.path.join(old_folder, old_relative), os.path.join(new_folder, old_relative))
        kept.append(old_relative)
    gan_file = old_manifest["formats"].get("gan")
    if gan_file is not None:  # the whole GAN is not re-exported: its weights are the ones published
        shutil.copyfile(os.path.join(old_folder, gan_file), os.path.join(new_folder, gan_file))
        new_manifest["formats"]["gan"] = gan_file
        kept.append(gan_file)
    new_manifest["files"] = file_entries(new_folder)
    write_manifest(new_folder, new_manifest)
    return kept


def _check_same_weights(old_path, new_path):
    import numpy as np

    from zoo.export.loading import load_exportable

    old = load_exportable(old_path).get_weights()
    new = load_exportable(new_path).get_weights()
    if len(old) != len(new) or any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(old, new)):
        raise ZooError(f"Re-exporting {old_path} changed its weights; nothing was replaced. Publish from the run instead.")


def _check_same_outputs(old_folder, new_folder):
    """Runs the new `generator.onnx` on the old test vectors: it must reproduce their images."""
    import numpy as np

    from zoo.export import runtime
    from zoo.export.test_vectors import load_test_vectors
    from zoo.sessions import onnx_session

    old_feeds, old_outputs = load_test_vectors(old_folder)
    session = onnx_session(os.path.join(new_folder, "generator.onnx"))
    image = runtime.run_onnx(session, old_feeds)
    change = max(float(np.max(np.abs(image - expected))) for expected in old_outputs.values())
    if change > SAME_OUTPUT_ATOL:
        raise ZooError(
            f"The re-export of {old_folder} computes other images (max change {change:.2e} > {SAME_OUTPUT_ATOL:g} "
            "on its old test vectors); nothing was replaced."
        )
    return change
