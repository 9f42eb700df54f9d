"""The publish pipeline: a finished training run -> a published, downloadable generator.

`publish_run(run_dir, name)` (`zoo publish RUN_DIR --name NAME`) writes

    export/<name>/generator.keras      the generator alone (float32)
                 /generator.onnx       ONNX, parity-checked against Keras
                 /saved_model.zip      the SavedModel folder, zipped (`unzip` restores saved_model/);
                                       not shipped above 2.5 MB: `zoo.hub.download` rebuilds it
                 /test_data_set_0/     input_0.pb (z), [input_1.pb (label)], output_0.pb (image)
                 /manifest.json        files (sha256, size), io, facts, parity; `zoo verify` passes
    models/<name>/card.json            the single source of truth about the model
                 /README.md            the model card, generated from card.json
                 /samples.png          8x8 grid from latent seed 0 (conditional: a row per class)
                 /recipe.toml          everything `zoo train --recipe` needs

and regenerates `export/manifest.json` (the index of every published name) and
the packaged catalogue `zoo/catalogue.json` from `models/*/card.json` and the
export manifests (`rebuild_catalogue`). The artifact is built in a hidden
temporary folder inside `export/` and renamed into place only after export
parity, `verify_artifact` on the zipped layout and the size limits pass.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import time
import zipfile

from zoo.errors import ZooError
from zoo.files import remove_path, write_bytes_atomically
from zoo.hub.catalogue import check_name
from zoo.publish.card import (
    DATASETS,
    build_card,
    card_export_facts,
    metrics_summary,
    render_readme,
    render_samples,
    run_result,
)
from zoo.publish.catalogue import (
    CARD_FILE,
    MODEL_FORMATS,
    build_catalogue,
    build_index,
    json_bytes,
    rebuild_catalogue,
    release_assets,
    repository_root,
)

MAX_FILE_BYTES = 16_000_000
MAX_TOTAL_BYTES = 80_000_000
DEFAULT_N_EVAL = 10_000
SAVED_MODEL_ZIP = "saved_model.zip"
# A larger SavedModel is not shipped (it would repeat the .keras weights a third
# time); downloads rebuild it from the verified .keras file.
MAX_SAVED_MODEL_ZIP_BYTES = 2_500_000

__all__ = [
    "PublishReport",
    "build_catalogue",
    "build_index",
    "card_export_facts",
    "check_sizes",
    "evaluate_folder",
    "export_folder",
    "portable_evaluation",
    "publish_run",
    "reexport_published",
    "rebuild_catalogue",
    "release_assets",
    "replace_folder",
    "verify_published",
    "zip_and_verify",
    "zip_folder",
    "zip_saved_model",
]


@dataclasses.dataclass
class PublishReport:
    """What `publish_run` wrote.

    Attributes:
        name: the published name.
        export_dir: `export/<name>/`.
        model_dir: `models/<name>/`.
        sizes: `{file: bytes}` of the model files.
        export_bytes: size of the whole `export/` folder afterwards.
        metrics: the metrics summary (empty if not measured).
        parity: `{runtime: max abs error}` on the test vectors (`zoo verify`).
        seconds: wall time.
    """

    name: str
    export_dir: str
    model_dir: str
    sizes: dict
    export_bytes: int
    metrics: dict
    parity: dict
    seconds: float

    def __str__(self):
        sizes = ", ".join(f"{file} {size / 1e6:.2f} MB" for file, size in self.sizes.items())
        metrics = ", ".join(f"{key} {value:.4g}" for key, value in self.metrics.items() if isinstance(value, float))
        parity = ", ".join(f"{runtime} {error:.1e}" for runtime, error in self.parity.items())
        return "\n".join([
            f"published {self.name} ({self.seconds:.1f} s)",
            f"  {self.export_dir}: {sizes}; export/ now {self.export_bytes / 1e6:.1f} MB",
            f"  verify: {parity}",
            f"  metrics: {metrics or 'not measured'}",
            f"  {self.model_dir}: card.json, README.md, samples.png, recipe.toml",
        ])


def reexport_published(name, *, repo_root=None, remeasure=False):
    """Rebuilds a publication from its own `generator.keras` (see `zoo.publish.reexport`)."""
    from zoo.publish.reexport import reexport_published as reexport

    return reexport(name, repo_root=repo_root, remeasure=remeasure)


def publish_run(run_dir, name, recipe=None, evaluation=None, *, repo_root=None, n_eval=DEFAULT_N_EVAL,
                eval_seed=0, description=None, data_licence=None, limits=None, force=False,
                max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_TOTAL_BYTES,
                max_saved_model_zip_bytes=MAX_SAVED_MODEL_ZIP_BYTES):
    """Publishes a finished training run as the pretrained generator `name`.

    Args:
        run_dir: a run folder written by `zoo train` (`model.keras`, `run.json`).
        name: the public name, lowercase letters/digits/dashes.
        recipe: the recipe that trained it. Defaults to `models/<name>/recipe.toml`;
            another path is copied there.
        evaluation: a JSON file written by `zoo evaluate --json`; without it
            the metrics are computed with `zoo.metrics` on `n_eval` samples.
        repo_root: the repository to publish into. Defaults to the checkout
            this package lives in.
        n_eval: samples for the metrics; `0` publishes without metrics.
            Defaults to `10000`.
        eval_seed: latent seed of the metrics' samples. Defaults to `0`.
        description: one sentence. Defaults to the recipe's `description`.
        data_licence: licence of the training data. Defaults to the known
            licence of the data set (Fashion-MNIST: MIT, © Zalando SE).
        limits: the card's "Limits" text. Defaults to a text built from the facts.
        force: replace an existing publication of `name`. Defaults to `False`.
        max_file_bytes: limit of each model file. Defaults to 16 MB.
        max_total_bytes: limit of the whole `export/` folder. Defaults to 80 MB.
        max_saved_model_zip_bytes: a zipped SavedModel above this size is not
            shipped; `zoo.hub.download(name, format="savedmodel")` rebuilds it
            from the `.keras` file and checks it. Defaults to 2.5 MB.

    Returns:
        A `PublishReport`.

    Raises:
        ZooError: one line for a bad run, recipe, name or evaluation, a failed
            export or verification, or a size limit; nothing is published then.

    Example:

    >>> report = publish_run("runs/dcgan-fashion-mnist", "dcgan-fashion-mnist")
    >>> print(report)
    """
    started = time.perf_counter()
    check_name(name)
    root = repository_root(repo_root)
    export_root = os.path.join(root, "export")
    model_dir = os.path.join(root, "models", name)
    target = os.path.join(export_root, name)
    if os.path.isdir(export_root):  # a killed publication's parked folder goes back before --force is judged
        from zoo.files import remove_dead_temporaries

        remove_dead_temporaries(export_root, name)
    settings = read_run(run_dir)
    recipe_path, recipe_data = read_recipe(recipe, model_dir, name, settings)
    dataset = settings["dataset"]
    data_licence = data_licence or DATASETS.get(dataset, {}).get("licence")
    if not data_licence:
        raise ZooError(
            f"No licence is known for data set '{dataset}'. Received: dataset={dataset!r}. "
            "Pass data_licence= (--data-licence) stating the licence of the training images."
        )
    description = description or recipe_data.get("description")
    if not description:
        raise ZooError(f"{recipe_path}: needs a 'description' (one sentence), or pass description= (--description).")
    if os.path.lexists(target) and not force:
        raise ZooError(f"{target} is already published. Pass force=True (--force) to replace it.")
    evaluation_data = read_evaluation(evaluation, dataset) if evaluation is not None else None

    from zoo.loading import load_gan

    gan = load_gan(os.path.join(os.fspath(run_dir), "model.keras"))
    staging = staging_folder(export_root, name, "publish")
    try:
        folder = os.path.join(staging, name)
        export_report = export_folder(
            gan, folder, dataset=settings["dataset"],
            training_steps=run_result(settings, "generator_steps", "steps"),
            class_names=settings.get("class_names") if gan.num_classes is not None else None,
        )
        verification = zip_and_verify(folder, name, max_saved_model_zip_bytes)
        sizes, export_bytes = check_sizes(folder, export_root, name, max_file_bytes, max_total_bytes)
        if evaluation_data is None and n_eval:
            evaluation_data = evaluate_folder(folder, dataset, n_eval, eval_seed)
        if evaluation_data is not None:
            evaluation_data = portable_evaluation(evaluation_data, folder, name, root)
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as file:
            manifest = json.load(file)
        samples_png, samples = render_samples(os.path.join(folder, "generator.keras"), manifest["model"], name)
        card = build_card(
            name, description, settings, manifest, export_report, evaluation_data,
            data_licence=data_licence, samples=samples, limits=limits,
        )
        card = json.loads(json_bytes(card))  # the README is rendered from card.json exactly as stored
        readme = render_readme(card, sizes)
        replace_folder(folder, target, staging)
    finally:
        remove_path(staging)
    os.makedirs(model_dir, exist_ok=True)
    recipe_target = os.path.join(model_dir, "recipe.toml")
    if os.path.abspath(recipe_path) != os.path.abspath(recipe_target):
        with open(recipe_path, "rb") as file:
            write_bytes_atomically(recipe_target, file.read())
    write_bytes_atomically(os.path.join(model_dir, "samples.png"), samples_png)
    write_bytes_atomically(os.path.join(model_dir, CARD_FILE), json_bytes(card))
    write_bytes_atomically(os.path.join(model_dir, "README.md"), readme.encode("utf-8"))
    rebuild_catalogue(root)
    return PublishReport(
        name=name,
        export_dir=target,
        model_dir=model_dir,
        sizes=sizes,
        export_bytes=export_bytes,
        metrics=metrics_summary(card.get("metrics")),
        parity=verification,
        seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------ inputs


def read_run(run_dir):
    """Reads `run_dir/run.json` of a finished `zoo train` run; `ZooError` if it is not one."""
    run_dir = os.fspath(run_dir)
    path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(os.path.join(run_dir, "model.keras")) or not os.path.isfile(path):
        raise ZooError(f"{run_dir} is not a finished run folder (needs model.keras and run.json written by `zoo train`).")
    try:
        with open(path, encoding="utf-8") as file:
            settings = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{path}: not readable JSON ({error}).") from None
    if not isinstance(settings, dict) or not settings.get("variant") or not settings.get("dataset"):
        raise ZooError(f"{path}: has no variant/dataset; not a run.json written by `zoo train`.")
    if not isinstance(settings.get("result"), dict):
        raise ZooError(f"{path}: has no 'result'; the run did not finish. Finish it (re-run `zoo train`) first.")
    if settings["result"].get("diverged"):
        raise ZooError(f"{path}: the run diverged (NaN losses); it cannot be published.")
    return settings


def read_recipe(recipe, model_dir, name, settings):
    """Returns `(path, dict)` of the recipe, checked against the run and the name."""
    from zoo.recipes import recipe_to_train_kwargs, tomllib

    path = os.path.abspath(os.fspath(recipe)) if recipe is not None else os.path.join(model_dir, "recipe.toml")
    if not os.path.isfile(path):
        raise ZooError(f"No such recipe file: {path}. Write models/{name}/recipe.toml (see zoo/recipes.py) or pass --recipe.")
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ZooError(f"{path} is not valid TOML ({error}).") from None
    recipe_to_train_kwargs(data, source=path)
    if data.get("name", name) != name:
        raise ZooError(f"{path} is the recipe of '{data['name']}', not '{name}'. Received: name={name!r}.")
    for key, default in (("variant", None), ("dataset", "fashion_mnist")):
        if data.get(key, default) != settings.get(key):
            raise ZooError(
                f"{path} says {key} = {data.get(key, default)!r} but the run trained {key} = {settings.get(key)!r}; "
                "publish the run with the recipe that trained it."
            )
    return path, data


def read_evaluation(path, dataset):
    """Reads a `zoo evaluate --json` file and checks it scored `dataset`."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"Cannot read the evaluation {path} ({error}). Pass a file written by `zoo evaluate --json`.") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) or not isinstance(data.get("protocol"), dict):
        raise ZooError(f"{path}: has no 'metrics' and 'protocol'; not the output of `zoo evaluate --json`.")
    if data["protocol"].get("dataset") != dataset:
        raise ZooError(
            f"{path} scored data set {data['protocol'].get('dataset')!r} but the model was trained on {dataset!r}."
        )
    return data


# ----------------------------------------------------------------- artifact


def export_folder(gan_or_generator, folder, *, dataset, training_steps, class_names):
    """Exports the generator to be published into `folder`: always the portable ONNX target."""
    from zoo.export.exporter import export_generator
    from zoo.export.targets import DEFAULT_TARGET

    report = export_generator(
        gan_or_generator,
        folder,
        dataset=dataset,
        training_steps=training_steps,
        class_names=class_names,
        target=DEFAULT_TARGET,
    )
    if report.target != DEFAULT_TARGET:  # a runtime-tuned graph is never published
        raise ZooError(f"Only the {DEFAULT_TARGET} ONNX target is published. Received: target={report.target!r}.")
    return report


def zip_and_verify(folder, name, max_saved_model_zip_bytes=None):
    """Puts `folder` in its published layout (`zip_saved_model`) and verifies it (`verify_published`)."""
    zip_saved_model(folder, name, max_saved_model_zip_bytes)
    return verify_published(folder, name)


def zip_saved_model(folder, name, max_saved_model_zip_bytes=None):
    """Replaces `saved_model/` by `saved_model.zip` (or drops it when large) and rewrites the manifest."""
    if max_saved_model_zip_bytes is None:
        max_saved_model_zip_bytes = MAX_SAVED_MODEL_ZIP_BYTES
    from zoo.export import manifest as manifest_module

    manifest = manifest_module.read_manifest(folder)
    saved_model = os.path.join(folder, manifest["formats"].get("savedmodel", "saved_model"))
    zip_path = os.path.join(folder, SAVED_MODEL_ZIP)
    zip_folder(saved_model, zip_path, "saved_model")
    shutil.rmtree(saved_model)
    zip_bytes = os.path.getsize(zip_path)
    if zip_bytes <= max_saved_model_zip_bytes:
        manifest["formats"]["savedmodel"] = SAVED_MODEL_ZIP
        saved_model_note = f"the saved_model/ folder, zipped as {SAVED_MODEL_ZIP} (unzip it to get the folder back)"
    else:
        os.remove(zip_path)
        manifest["formats"].pop("savedmodel", None)
        saved_model_note = (
            f"not shipped ({zip_bytes / 1e6:.1f} MB zipped, over {max_saved_model_zip_bytes / 1e6:g} MB): "
            f"zoo.hub.download(name, format='savedmodel') or `zoo export generator.keras` rebuilds it "
            f"(the download checks it against test_data_set_0)"
        )
    manifest["files"] = manifest_module.file_entries(folder)
    manifest["published"] = {
        "name": name,
        "saved_model": saved_model_note,
        "verified": "export parity gate before zipping; `zoo verify` (hashes + test vectors) after",
    }
    manifest_module.write_manifest(folder, manifest)


def verify_published(folder, name):
    """`zoo verify` of a folder in its published layout: `{runtime: max abs error}`, or a one-line `ZooError`."""
    from zoo.export.verify import verify_artifact

    report = verify_artifact(folder)
    if not report.passed:
        raise ZooError(f"The published layout of '{name}' fails verification: {report.failures[0]} Nothing was published.")
    return dict(report.errors)


def zip_folder(folder, zip_path, root_name):
    """Zips `folder` as `root_name/...`, byte-for-byte reproducibly (sorted, fixed dates)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for current, directories, files in os.walk(folder):
            directories.sort()
            relative = os.path.relpath(current, folder).replace(os.sep, "/")
            prefix = root_name if relative == "." else f"{root_name}/{relative}"
            info = zipfile.ZipInfo(prefix + "/", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
            for file_name in sorted(files):
                info = zipfile.ZipInfo(f"{prefix}/{file_name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(os.path.join(current, file_name), "rb") as file:
                    archive.writestr(info, file.read(), compresslevel=9)


def check_sizes(folder, export_root, name, max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_TOTAL_BYTES):
    """Returns `({model file: bytes}, export/ bytes after publishing)`; `ZooError` past a limit."""
    from zoo.export.manifest import read_manifest

    formats = read_manifest(folder)["formats"]
    sizes = {}
    for format_name in MODEL_FORMATS:
        if format_name not in formats:  # a SavedModel too large to ship
            continue
        relative = formats[format_name]
        sizes[relative] = os.path.getsize(os.path.join(folder, relative))
        if sizes[relative] > max_file_bytes:
            raise ZooError(
                f"export/{name}/{relative} is {sizes[relative] / 1e6:.2f} MB; the limit is {max_file_bytes / 1e6:g} MB "
                "per published file. Publish a smaller generator (fewer filters). Nothing was published."
            )
    total = _tree_bytes(folder)
    for entry in sorted(os.listdir(export_root)):
        if entry.startswith(".") or entry == name:
            continue  # temporary folders, and the publication being replaced
        total += _tree_bytes(os.path.join(export_root, entry))
    if total > max_total_bytes:
        raise ZooError(
            f"export/ would hold {total / 1e6:.1f} MB after publishing '{name}'; the limit is "
            f"{max_total_bytes / 1e6:g} MB in all. Unpublish a model or shrink this one. Nothing was published."
        )
    return sizes, total


def _tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, file)) for root, _, files in os.walk(path) for file in files)


def staging_folder(export_root, name, job):
    """A new hidden folder beside `export/<name>` for `job` ("publish", "reexport").

    Its name (`.NAME.tmp-PID-JOB-XXXX`) carries this process's id, so that the
    next publication of `name` removes what a killed one left and leaves a live
    one's alone: `publish_run` and `reexport_published` call
    `zoo.files.remove_dead_temporaries` first, before they judge `export/<name>`.
    """
    os.makedirs(export_root, exist_ok=True)
    return tempfile.mkdtemp(dir=export_root, prefix=f".{name}.tmp-{os.getpid()}-{job}-")


def replace_folder(folder, target, staging):
    """Moves `folder` to `target`; the previous `target` steps aside first and is removed after.

    A kill between the two renames leaves the previous folder parked as
    `.NAME.old-PID-XXXX/NAME`, which the next publication of the name puts back
    (`zoo.files.remove_dead_temporaries`) before it starts.
    """
    parent, base = os.path.split(target)
    previous = None
    if os.path.lexists(target):
        previous = tempfile.mkdtemp(dir=parent, prefix=f".{base}.old-{os.getpid()}-")
        os.replace(target, os.path.join(previous, base))
    try:
        os.replace(folder, target)
    except OSError:
        if previous is not None:
            os.replace(os.path.join(previous, base), target)
            remove_path(previous)
        raise
    if previous is not None:
        remove_path(previous)


def evaluate_folder(folder, dataset, n, seed):
    """Scores the artifact in `folder` with `zoo.metrics` (None if the package is missing)."""
    try:
        from zoo.metrics import evaluate
    except ImportError:
        return None
    return evaluate(folder, dataset, n=n, seed=seed).to_dict()


def portable_evaluation(evaluation, folder, name, root):
    """`evaluation` with no temporary or machine-specific paths, as the card stores it."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return _replace_strings(
        evaluation, {folder: f"export/{name}", root.rstrip(os.sep) + os.sep: "", checkout + os.sep: ""}
    )


def _replace_strings(value, replacements):
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _replace_strings(item, replacements) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_strings(item, replacements) for item in value]
    return value
