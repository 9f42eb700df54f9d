"""`publish_run`: a finished training run -> `export/<name>/` and `models/<name>/`.

The inputs are checked first (`zoo.publish.inputs`); the artifact is built in a
hidden staging folder inside `export/` (`zoo.publish.staging`), exported, given
the whole GAN as `gan.keras` (for fine-tuning), zipped, verified and
size-checked (`zoo.publish.artifact`), measured
(`zoo.publish.evaluation`) and described (`zoo.publish.card`), and renamed into
place only after all of that passed; then the model folder and the catalogue
(`zoo.publish.catalogue`) are written.

Example:

>>> print(publish_run("runs/dcgan-fashion-mnist", "dcgan-fashion-mnist"))
"""

import dataclasses
import json
import os
import time
from typing import Optional

from zoo.errors import ZooError
from zoo.export.manifest import read_manifest
from zoo.files import remove_dead_temporaries, remove_path, write_bytes_atomically
from zoo.hub.catalogue import check_name
from zoo.publish.artifact import (
    MAX_FILE_BYTES,
    MAX_SAVED_MODEL_ZIP_BYTES,
    MAX_TOTAL_BYTES,
    add_gan_file,
    check_sizes,
    export_folder,
    zip_and_verify,
)
from zoo.publish.card import DATASETS, build_card, metrics_summary, render_readme, render_samples
from zoo.publish.catalogue import CARD_FILE, json_bytes, rebuild_catalogue, repository_root
from zoo.publish.evaluation import DEFAULT_N_EVAL, evaluate_folder, portable_evaluation
from zoo.publish.inputs import read_evaluation, read_recipe, read_run
from zoo.publish.staging import replace_folder, staging_folder
from zoo.run_config import RunRecord


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
    if os.path.isdir(export_root):  # a killed publication's parked folder goes back before --force is judged
        remove_dead_temporaries(export_root, name)
    target = os.path.join(export_root, name)
    inputs = _read_inputs(run_dir, name, recipe, evaluation, model_dir, description, data_licence, target, force)
    staged = _stage(
        inputs, name, root, limits=limits, n_eval=n_eval, eval_seed=eval_seed,
        size_limits=(max_file_bytes, max_total_bytes, max_saved_model_zip_bytes),
    )
    _write_model_folder(model_dir, inputs.recipe_path, staged)
    rebuild_catalogue(root)
    return PublishReport(
        name=name,
        export_dir=target,
        model_dir=model_dir,
        sizes=staged.sizes,
        export_bytes=staged.export_bytes,
        metrics=metrics_summary(staged.card.get("metrics")),
        parity=staged.parity,
        seconds=time.perf_counter() - started,
    )


@dataclasses.dataclass
class _Inputs:
    """The checked inputs of a publication."""

    run: RunRecord
    run_dir: str
    recipe_path: str
    description: str
    data_licence: str
    evaluation: Optional[dict]


@dataclasses.dataclass
class _Staged:
    """A publication swapped into `export/<name>/`, with the model folder's files to write."""

    card: dict
    readme: str
    samples_png: bytes
    sizes: dict
    export_bytes: int
    parity: dict


def _read_inputs(run_dir, name, recipe, evaluation, model_dir, description, data_licence, target, force):
    run = read_run(run_dir)
    recipe_path, recipe_data = read_recipe(recipe, model_dir, name, run)
    dataset = run.config.dataset
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
    return _Inputs(
        run=run,
        run_dir=os.fspath(run_dir),
        recipe_path=recipe_path,
        description=description,
        data_licence=data_licence,
        evaluation=read_evaluation(evaluation, dataset) if evaluation is not None else None,
    )


def _stage(inputs, name, root, *, limits, n_eval, eval_seed, size_limits):
    """Exports, verifies and measures the run in a staging folder, then swaps it into `export/<name>/`."""
    from zoo.loading import load_gan

    max_file_bytes, max_total_bytes, max_saved_model_zip_bytes = size_limits
    run, export_root = inputs.run, os.path.join(root, "export")
    gan = load_gan(os.path.join(inputs.run_dir, "model.keras"))
    staging = staging_folder(export_root, name, "publish")
    try:
        folder = os.path.join(staging, name)
        export_report = export_folder(
            gan, folder, dataset=run.config.dataset,
            training_steps=run.result.generator_steps,
            class_names=list(run.class_names) if gan.num_classes is not None and run.class_names else None,
        )
        add_gan_file(gan, folder)
        parity = zip_and_verify(folder, name, max_saved_model_zip_bytes)
        sizes, export_bytes = check_sizes(folder, export_root, name, max_file_bytes, max_total_bytes)
        evaluation = inputs.evaluation
        if evaluation is None and n_eval:
            evaluation = evaluate_folder(folder, run.config.dataset, n_eval, eval_seed)
        if evaluation is not None:
            evaluation = portable_evaluation(evaluation, folder, name, root)
        manifest = read_manifest(folder)
        samples_png, samples = render_samples(os.path.join(folder, "generator.keras"), manifest["model"], name)
        card = build_card(
            name, inputs.description, run, manifest, export_report, evaluation,
            data_licence=inputs.data_licence, samples=samples, limits=limits,
        )
        card = json.loads(json_bytes(card))  # the README is rendered from card.json exactly as stored
        readme = render_readme(card, sizes)
        replace_folder(folder, os.path.join(export_root, name), staging)
    finally:
        remove_path(staging)
    return _Staged(card, readme, samples_png, sizes, export_bytes, parity)


def _write_model_folder(model_dir, recipe_path, staged):
    """Writes `models/<name>/`: the recipe (copied there if it came from elsewhere), samples, card, README."""
    os.makedirs(model_dir, exist_ok=True)
    recipe_target = os.path.join(model_dir, "recipe.toml")
    if os.path.abspath(recipe_path) != os.path.abspath(recipe_target):
        with open(recipe_path, "rb") as file:
            write_bytes_atomically(recipe_target, file.read())
    write_bytes_atomically(os.path.join(model_dir, "samples.png"), staged.samples_png)
    write_bytes_atomically(os.path.join(model_dir, CARD_FILE), json_bytes(staged.card))
    write_bytes_atomically(os.path.join(model_dir, "README.md"), staged.readme.encode("utf-8"))
