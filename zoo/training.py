"""`zoo.training.train`: a complete, resumable training run (what `zoo train` does).

A run folder holds:

    OUT/model.keras        the GAN after the last good epoch (written atomically)
    OUT/model.keras.json   how many epochs model.keras holds, with its sha256
    OUT/run.json           the run's settings, for reproduction
    OUT/clock.json         training seconds of all sessions
    OUT/samples/epoch_NNN.png   samples from fixed seeds, one grid per epoch
    OUT/logs/              TensorBoard scalars and sample images
    OUT/backup/            `zoo.callbacks.AtomicBackup` state while a run is unfinished

Re-running the same command after a crash or a kill resumes from the last
finished epoch; a backup found corrupt is moved to `OUT/backup.corrupt-<time>/`
and the run resumes from `model.keras`. A full disk ends the run with a
`ZooError` and leaves the last good files as they were. Temporaries that a
killed run left (`.model.keras.tmp-*`, ...) are removed when the run starts.
"""

import contextlib
import errno
import inspect
import json
import os
import time

from zoo.checks import check_int, check_number, check_seed, received
from zoo.errors import ZooError
from zoo.files import (
    check_writable_folder,
    clean_stale_temporaries,
    temporary_pattern,
    write_bytes_atomically,
)

# The files a run writes with `atomic_path`, per folder of the run.
RUN_FILES = ("model.keras", "model.keras.json", "run.json", "clock.json")
SAMPLE_FILES = ("epoch_*.png",)

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def train(
    variant,
    dataset="fashion_mnist",
    out=None,
    epochs=20,
    batch_size=128,
    steps_per_epoch=None,
    seed=None,
    data_dir=None,
    take=None,
    variant_config=None,
    compile_config=None,
    sample_count=64,
    max_minutes=None,
    evaluate_every=None,
    strategy=None,
    mixed_precision=False,
    callbacks=(),
    verbose="auto",
):
    """Trains `variant` on `dataset` and returns `(gan, history)`.

    Args:
        variant: registered variant name, e.g. `"dcgan"`.
        dataset: a `zoo.data` name or a folder of images.
        out: run folder. Defaults to `runs/<variant>`.
        epochs: number of epochs.
        batch_size: images per step.
        steps_per_epoch: stop each epoch after this many steps (the data is
            repeated), for short runs. Defaults to a full pass.
        seed: seed of weights, noise and shuffling, for reproducible runs.
        data_dir: folder with local data files (see `zoo.data.load`).
        take: use only the first `take` training images.
        variant_config: extra builder options, e.g. `{"latent_dim": 128}`.
        compile_config: extra `GAN.compile` options, e.g. `{"jit_compile": True}`.
        sample_count: images in each epoch's sample grid.
        max_minutes: stop training after this much wall-clock time.
        evaluate_every: score 5000 samples with `zoo.metrics` every this many
            epochs (and after the last); the figures go to the logs and
            TensorBoard.
        strategy: `None`, `"mirrored"` (all local GPUs, or the CPU) or
            `"multiworker"` (`TF_CONFIG` cluster), or a `tf.distribute`
            strategy. The batch size is the global batch size.
        mixed_precision: `None`/`False` (float32), `"float16"` (or `True`:
            the `mixed_float16` policy, both optimizers get loss scaling) or
            `"bfloat16"` (`mixed_bfloat16`: no loss scaling needed; fast on
            CPUs with AVX512-BF16/AMX and on recent GPUs). Variables stay
            float32 either way, and exports are float32.
        callbacks: extra Keras callbacks.
        verbose: `fit` verbosity.

    Example:

    >>> gan, history = zoo.training.train("dcgan", epochs=1, steps_per_epoch=50)
    """
    import keras

    import zoo
    from zoo import callbacks as zoo_callbacks
    from zoo import data

    builder = zoo.get_variant(variant)
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_int("steps_per_epoch", steps_per_epoch, 1, optional=True)
    check_seed("seed", seed, optional=True)
    check_int("take", take, 1, optional=True)
    check_int("sample_count", sample_count, 1)
    check_number("max_minutes", max_minutes, 0.0, optional=True)
    check_int("evaluate_every", evaluate_every, 1, optional=True)
    out = os.fspath(out or os.path.join("runs", variant))
    check_writable_folder(out, "out")
    check_data_dir(data_dir)
    check_same_variant(out, variant)
    if seed is not None:
        keras.utils.set_random_seed(seed)

    info = data.info(dataset, data_dir=data_dir)
    check_data_found(info, data_dir)
    config = {"image_shape": info.image_shape}
    accepted = inspect.signature(builder).parameters
    conditional = "num_classes" in accepted
    if conditional:
        if info.num_classes is None:
            raise ZooError(
                f"Variant '{variant}' is conditional but data set '{dataset}' has no "
                "labels. Use a labelled data set (or a folder with one subfolder per class)."
            )
        config["num_classes"] = info.num_classes
    config["seed"] = seed
    config.update(variant_config or {})
    clustering, clustering_seconds = None, 0.0
    if config.get("clusters") is not None and config.get("cluster_frequencies") is None:
        clustering_start = time.perf_counter()
        clustering = _cluster_training_images(variant, dataset, data_dir, config["clusters"], seed, accepted)
        clustering_seconds = time.perf_counter() - clustering_start
        config["clusters"] = len(clustering.frequencies)
        config["cluster_frequencies"] = clustering.frequencies
    distribution = get_strategy(strategy)
    policy = mixed_precision_policy(mixed_precision)
    previous_policy = keras.config.dtype_policy()
    if policy:
        keras.config.set_dtype_policy(policy)
    try:
        with distribution.scope():
            gan = zoo.create(variant, **config)
            gan.compile(**(compile_config or {}))
    finally:
        keras.config.set_dtype_policy(previous_policy)

    dataset_batches = data.load(
        dataset,
        split="train",
        batch_size=batch_size,
        data_dir=data_dir,
        with_labels=conditional,
        seed=seed,
        take=take,
        labels=None if clustering is None else clustering.assignments,
    )
    if steps_per_epoch is not None:
        dataset_batches = dataset_batches.repeat()

    settings = {
        "variant": variant,
        "dataset": dataset,
        "data_source": info.source,
        "epochs": epochs,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "seed": seed,
        "take": take,
        "max_minutes": max_minutes,
        "strategy": strategy if strategy is None or isinstance(strategy, str) else type(strategy).__name__,
        "replicas": distribution.num_replicas_in_sync,
        "mixed_precision": policy,
        "variant_config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "compile_config": compile_config or {},
        "class_names": list(info.class_names) if info.class_names else None,
        "clustering_seconds": round(clustering_seconds, 1) if clustering is not None else None,
    }
    with _disk_errors_reported(out):
        os.makedirs(out, exist_ok=True)
        clean_stale_temporaries(out, [temporary_pattern(name) for name in RUN_FILES])
        clean_stale_temporaries(os.path.join(out, "samples"), [temporary_pattern(name) for name in SAMPLE_FILES])
        resuming = os.path.isdir(os.path.join(out, "backup"))
        seconds_before = _read_clock(out) if resuming else 0.0

        def write_settings(logs=None):
            write_bytes_atomically(
                os.path.join(out, "run.json"),
                json.dumps(settings, indent=2, default=keras.saving.serialize_keras_object).encode(),
            )

        run_callbacks = [
            zoo_callbacks.AtomicBackup(os.path.join(out, "backup"), fallback=os.path.join(out, "model.keras")),
            # run.json is (re)written once the backup has been restored: a refused resume leaves it as it was.
            keras.callbacks.LambdaCallback(on_train_begin=write_settings),
            zoo_callbacks.TerminateOnNaN(),
            zoo_callbacks.RunClock(os.path.join(out, "clock.json"), seconds_before),
            zoo_callbacks.AtomicCheckpoint(os.path.join(out, "model.keras")),
            zoo_callbacks.SampleGrid(
                os.path.join(out, "samples"),
                n=sample_count,
                seed=0,
                log_dir=os.path.join(out, "logs"),
            ),
            *callbacks,
            keras.callbacks.TensorBoard(os.path.join(out, "logs")),
        ]
        if evaluate_every is not None:
            run_callbacks.insert(
                -1, zoo_callbacks.Evaluate(every=evaluate_every, n=5000, dataset=dataset, data_dir=data_dir, verbose=0)
            )
        if max_minutes is not None:
            # Finding the clusters is part of the budget.
            run_callbacks.insert(2, zoo_callbacks.TimeBudget(max(max_minutes - clustering_seconds / 60, 0.0)))
        start = time.perf_counter()
        history = gan.fit(
            dataset_batches,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=run_callbacks,
            verbose=verbose,
        )
        steps = int(gan.g_optimizer.iterations.numpy())
        this_session = time.perf_counter() - start
        settings["result"] = {
            "seconds": round(seconds_before + this_session, 1),
            "seconds_this_session": round(this_session, 1),
            "generator_steps": steps,
            "images_seen": steps * batch_size,
            "diverged": bool(getattr(gan, "diverged", False)),
            "machine": machine_description(),
        }
        write_settings()
    return gan, history


@contextlib.contextmanager
def _disk_errors_reported(out):
    """Turns a write that failed for lack of space or rights into a one-line `ZooError`."""
    try:
        yield
    except OSError as error:
        zoo_error = _disk_error(error, out)
        if zoo_error is None:
            raise
        raise zoo_error from None


def _disk_error(error, out):
    """The one-line `ZooError` for a write that failed for lack of space or rights, else `None`."""
    if error.errno in _DISK_FULL:
        what = "No space left" if error.errno != errno.EFBIG else "File size limit reached"
        return ZooError(
            f"{what} while writing the run folder {out} ({os.strerror(error.errno)}). The last good "
            "model.keras and backup/ are kept as they were: free some space and re-run the same command to resume."
        )
    if error.errno in _NOT_WRITABLE:
        return ZooError(
            f"Cannot write in the run folder {out} ({os.strerror(error.errno)}"
            f"{': ' + os.fspath(error.filename) if error.filename else ''}). Make it writable and re-run the same "
            "command to resume."
        )
    return None


def check_data_dir(data_dir, name="data_dir"):
    """Checks that a given `data_dir` is an existing folder (`None` passes)."""
    if data_dir is None:
        return None
    path = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
    if not os.path.isdir(path):
        what = "does not exist" if not os.path.lexists(path) else "is not a folder"
        raise ZooError(
            f"{name} {what}: {path}. Received: {received(name, os.fspath(data_dir))}. "
            "Give the folder that holds the data set files, or leave it out to use the system folders."
        )
    return path


def check_data_found(info, data_dir, name="data_dir"):
    """Checks that a named data set was found in the `data_dir` the user gave, not elsewhere.

    `zoo.data` searches `data_dir` first and then the system folders; a user who
    names a folder means that folder.
    """
    if data_dir is None:
        return
    kind, _, where = info.source.partition(":")
    if kind not in ("idx", "cifar") or not where:
        return  # an image folder (data_dir unused) or tensorflow-datasets, which uses data_dir
    folder = os.path.realpath(os.path.expanduser(os.fspath(data_dir)))
    found = os.path.realpath(where)
    if os.path.commonpath([folder, found]) != folder:
        raise ZooError(
            f"{name} holds no {info.name} files: {folder}. Received: {received(name, os.fspath(data_dir))}. "
            f"(They were found in {found}: leave {name} out to use those, or put the files in {folder}.)"
        )


def check_same_variant(out, variant):
    """Refuses a run folder whose `run.json` records another variant, before anything is written."""
    path = os.path.join(out, "run.json")
    if not os.path.isfile(path):
        return
    try:
        with open(path, encoding="utf-8") as file:
            recorded = json.load(file).get("variant")
    except (OSError, ValueError, AttributeError) as error:
        raise ZooError(
            f"{path} is not a readable run record ({' '.join(str(error).split())}). "
            f"Received: out={out!r}. Move it away or choose another out folder."
        ) from None
    if recorded != variant:
        raise ZooError(
            f"The run folder {out} holds a run of variant {recorded!r}, not {variant!r}. Received: variant={variant!r}, "
            f"out={out!r}. Resume it with variant {recorded!r} or choose another out folder."
        )


def _cluster_training_images(variant, dataset, data_dir, clusters, seed, accepted):
    from zoo import clusters as clusters_module
    from zoo import data

    if "clusters" not in accepted:
        raise ZooError(f"Variant '{variant}' has no clusters option (self-conditioning); dcgan has.")
    if data.info(dataset, data_dir=data_dir).source.startswith("folder:"):
        raise ZooError(
            f"clusters=... needs a named data set (e.g. fashion_mnist); {dataset!r} is an image folder."
        )
    images, _ = data.load_arrays(dataset, "train", data_dir)
    return clusters_module.cluster_images(images, clusters, seed=seed or 0)


MIXED_PRECISION = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def mixed_precision_policy(mixed_precision):
    """Keras dtype policy name for a `mixed_precision` setting, or `None`.

    Example:

    >>> mixed_precision_policy("bfloat16")
    'mixed_bfloat16'
    """
    if mixed_precision is None or mixed_precision is False:
        return None
    if mixed_precision is True:
        return MIXED_PRECISION["float16"]
    name = str(mixed_precision).removeprefix("mixed_")
    if name not in MIXED_PRECISION:
        raise ZooError(
            f"Unknown mixed_precision {mixed_precision!r}. Use 'float16', 'bfloat16' or "
            "false (float32)."
        )
    return MIXED_PRECISION[name]


STRATEGIES = ("mirrored", "multiworker")


def get_strategy(strategy):
    """Returns a `tf.distribute.Strategy` for a name, an instance or `None`.

    Example:

    >>> with get_strategy("mirrored").scope():
    ...     gan = zoo.create("dcgan")
    """
    import tensorflow as tf

    if strategy is None:
        return tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    from zoo.errors import unknown_name_error

    raise unknown_name_error("strategy", strategy, STRATEGIES)


def _read_clock(out):
    """Training seconds of the earlier sessions of a resumed run."""
    try:
        with open(os.path.join(out, "clock.json")) as file:
            return float(json.load(file)["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def machine_description():
    """A short description of this machine for run records and model cards."""
    import platform

    import tensorflow as tf

    devices = [device.device_type for device in tf.config.list_physical_devices()]
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "devices": sorted(set(devices)),
        "tensorflow": tf.__version__,
    }
