"""Re-exporting a published generator from its own `generator.keras`.

When the export pipeline changes (a new graph, a new format) but the weights do
not, a publication is rebuilt from the `.keras` file it already ships, not from
a training run: `reexport_published(name)` (`zoo publish --reexport NAME`)
exports it again with the default (portable) target, checks that the weights
are the same array for array and that the new ONNX file reproduces the old test
vectors, and then replaces `export/<name>/` and the export facts of the model card.
`generator.keras` and `saved_model.zip` keep their old bytes (same contents; a
new save differs only in dates and names), so git history holds new copies only
of the files whose graphs changed. The card's metrics and samples stay (they
were measured on the same weights) unless `remeasure=True` (`--remeasure`) asks
to draw and measure them again. Nothing is replaced unless every check passed.
"""

import json
import os
import time

from zoo.errors import ZooError
from zoo.files import remove_path, write_bytes_atomically

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
    from zoo import publish
    from zoo.export.loading import load_exportable
    from zoo.export.manifest import read_manifest
    from zoo.export.verify import verify_artifact
    from zoo.publish.card import card_metrics, render_readme, render_samples
    from zoo.publish.catalogue import CARD_FILE, json_bytes, read_card, repository_root

    started = time.perf_counter()
    root = repository_root(repo_root)
    target = os.path.join(root, "export", name)
    card = read_card(root, name)
    from zoo.files import remove_dead_temporaries

    remove_dead_temporaries(os.path.join(root, "export"), name)  # a killed run's parked folder goes back first
    old = verify_artifact(target, runtimes=("onnxruntime",))
    if not old.passed:
        raise ZooError(f"export/{name} does not verify as it stands ({old.failures[0]}); publish it from its run instead.")
    manifest = read_manifest(target)
    facts = manifest["model"]
    generator = load_exportable(os.path.join(target, manifest["formats"]["keras"]))
    staging = publish.staging_folder(os.path.join(root, "export"), name, "reexport")
    try:
        folder = os.path.join(staging, name)
        report = publish.export_folder(
            generator, folder, dataset=facts.get("dataset"), training_steps=facts.get("training_steps"),
            class_names=facts.get("class_names"),
        )
        _check_same_weights(os.path.join(target, manifest["formats"]["keras"]), os.path.join(folder, "generator.keras"))
        change = _check_same_outputs(target, folder)
        publish.zip_saved_model(folder, name)
        kept = _keep_unchanged_files(target, manifest, folder)
        parity = publish.verify_published(folder, name)
        sizes, export_bytes = publish.check_sizes(folder, os.path.join(root, "export"), name)
        new_manifest = read_manifest(folder)
        card["io"] = new_manifest["io"]
        card["export"] = publish.card_export_facts(new_manifest, report)
        samples_png = None
        if remeasure:
            samples_png, card["samples"] = render_samples(os.path.join(folder, "generator.keras"), new_manifest["model"], name)
            protocol = (card.get("metrics") or {}).get("protocol") or {}
            evaluation = publish.evaluate_folder(
                folder, card["dataset"], protocol.get("n", publish.DEFAULT_N_EVAL), protocol.get("seed", 0)
            )
            if evaluation is not None:
                evaluation = publish.portable_evaluation(evaluation, folder, name, root)
                card["metrics"] = card_metrics(evaluation, name, card["dataset"])
        card = json.loads(json_bytes(card))
        readme = render_readme(card, sizes)
        publish.replace_folder(folder, target, staging)
    finally:
        remove_path(staging)
    model_dir = os.path.join(root, "models", name)
    if samples_png is not None:
        write_bytes_atomically(os.path.join(model_dir, "samples.png"), samples_png)
    write_bytes_atomically(os.path.join(model_dir, CARD_FILE), json_bytes(card))
    write_bytes_atomically(os.path.join(model_dir, "README.md"), readme.encode("utf-8"))
    publish.rebuild_catalogue(root)
    return {
        "name": name,
        "kept": kept,
        "sizes": sizes,
        "export_bytes": export_bytes,
        "parity": parity,
        "max_output_change": change,
        "seconds": time.perf_counter() - started,
    }


def _keep_unchanged_files(old_folder, old_manifest, new_folder):
    """Puts the old bytes of `generator.keras` and `saved_model.zip` back into `new_folder`.

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

    old_feeds, old_outputs = load_test_vectors(old_folder)
    session = runtime.onnx_session(os.path.join(new_folder, "generator.onnx"))
    image = runtime.run_onnx(session, old_feeds)
    change = max(float(np.max(np.abs(image - expected))) for expected in old_outputs.values())
    if change > SAME_OUTPUT_ATOL:
        raise ZooError(
            f"The re-export of {old_folder} computes other images (max change {change:.2e} > {SAME_OUTPUT_ATOL:g} "
            "on its old test vectors); nothing was replaced."
        )
    return change
