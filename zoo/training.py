"""`zoo.training.train`: a complete, resumable training run (what `zoo train` does).

A run folder holds:

    OUT/model.keras        the GAN after the last good epoch (written atomically)
    OUT/model.keras.json   how many epochs model.keras holds, with its sha256
    OUT/run.json           the run's `zoo.run_config.RunRecord`: settings and result
    OUT/clock.json         training seconds of all sessions
    OUT/samples/epoch_NNN.png   samples from fixed seeds, one grid per epoch
    OUT/logs/              TensorBoard scalars and sample images
    OUT/backup/            `zoo.callbacks.AtomicBackup` state while a run is unfinished

With `init_from` (`zoo train --init-from NAME_OR_PATH`) the run starts from a
pretrained GAN and fine-tunes it (`zoo.fine_tuning`); `run.json` records the
file's sha256. Re-running the same command after a crash or a kill resumes from
the last finished epoch (for a fine-tune too: the run folder wins); a backup found corrupt is moved to `OUT/backup.corrupt-<time>/`
and the run resumes from `model.keras`. A full disk ends the run with a
`ZooError` and leaves the last good files as they were. Temporaries that a
killed run left (`.model.keras.tmp-*`, ...) are removed when the run starts.
"""

import contextlib
import errno
import json
import os
import time

from zoo.checks import received
from zoo.errors import ZooError
from zoo.files import (
    check_writable_folder,
    clean_stale_temporaries,
    remove_path,
    temporary_pattern,
    write_bytes_atomically,
)
from zoo.run_config import (  # noqa: F401  (MIXED_PRECISION, mixed_precision_policy: re-exported)
    MIXED_PRECISION,
    STRATEGIES,
    RunConfig,
    RunRecord,
    RunResult,
    mixed_precision_policy,
    read_run_record,
)

# The files a run writes with `atomic_path`, per folder of the run.
RUN_FILES = ("model.keras", "model.keras.json", "run.json", "clock.json")
SAMPLE_FILES = ("epoch_*.png",)

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def train(
    variant,
    dataset=RunConfig.dataset,
    out=None,
    epochs=RunConfig.epochs,
    batch_size=RunConfig.batch_size,
    steps_per_epoch=None,
    seed=None,
    data_dir=None,
    take=None,
    variant_config=None,
    compile_config=None,
    sample_count=RunConfig.sample_count,
    max_minutes=None,
    evaluate_every=None,
    strategy=None,
    mixed_precision=None,
    init_from=None,
    callbacks=(),
    verbose="auto",
):
    """Trains `variant` on `dataset` and returns `(gan, history)`.

    The settings (`variant`, `dataset`, `epochs`, `batch_size`,
    `steps_per_epoch`, `seed`, `take`, `variant_config`, `compile_config`,
    `sample_count`, `max_minutes`, `evaluate_every`, `strategy`,
    `mixed_precision`, `init_from`) are those of `zoo.run_config.RunConfig`, which
    documents and checks them; this builds one and calls `train_run`.

    Args:
        out: run folder. Defaults to `runs/<variant>`.
        data_dir: folder with local data files (see `zoo.data.load`).
        callbacks: extra Keras callbacks.
        verbose: `fit` verbosity.

    Example:

    >>> gan, history = zoo.training.train("dcgan", epochs=1, steps_per_epoch=50)
    """
    config = RunConfig(
        variant=variant,
        dataset=dataset,
        epochs=epochs,
        batch_size=batch_size,
        steps_per_epoch=steps_per_epoch,
        seed=seed,
        take=take,
        max_minutes=max_minutes,
        evaluate_every=evaluate_every,
        mixed_precision=mixed_precision,
        strategy=strategy,
        variant_config=variant_config,
        compile_config=compile_config,
        sample_count=sample_count,
        init_from=init_from,
    )
    return train_run(config, out=out, data_dir=data_dir, callbacks=callbacks, verbose=verbose)


def train_run(config, *, out=None, data_dir=None, callbacks=(), verbose="auto"):
    """Trains the run `config` (a `zoo.run_config.RunConfig`) and returns `(gan, history)`.

    Args:
        config: the run's settings.
        out: run folder. Defaults to `runs/<variant>`; re-running with the
            same folder resumes.
        data_dir: folder with local data files (see `zoo.data.load`).
        callbacks: extra Keras callbacks.
        verbose: `fit` verbosity.

    Example:

    >>> config = zoo.run_config.RunConfig.from_recipe("models/dcgan-fashion-mnist/recipe.toml")
    >>> gan, history = zoo.training.train_run(config.replace(epochs=1), out="runs/dcgan")
    >>> tuned = zoo.run_config.RunConfig("cgan", dataset="my_images/", init_from="cgan-fashion-mnist")
    >>> gan, history = zoo.training.train_run(tuned, out="runs/my-cgan")  # fine-tunes (zoo.fine_tuning)
    """
    import keras

    from zoo import data
    from zoo.registry import variant_record

    record = variant_record(config.variant)
    out = os.fspath(out or os.path.join("runs", config.variant))
    check_writable_folder(out, "out")
    check_data_dir(data_dir)
    check_same_variant(out, config.variant)
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    info = data.info(config.dataset, data_dir=data_dir)
    check_data_found(info, data_dir)
    distribution = get_strategy(config.strategy)
    if config.init_from is not None:  # fine-tuning: the GAN file gives the architecture and state
        from zoo import fine_tuning

        source = fine_tuning.resolve_init_from(config.init_from)
        gan = fine_tuning.load_initial_gan(source, config, info, distribution)
        options, clustering, clustering_seconds = fine_tuning.recorded_options(gan), None, 0.0
    else:
        source = None
        options, clustering, clustering_seconds = _builder_options(config, record, info, data_dir)
        gan = _build_gan(config, options, distribution)
    batches = _training_batches(config, record, data_dir, clustering, distribution)
    run = RunRecord(
        config=config.replace(variant_config=options),
        data_source=info.source,
        replicas=distribution.num_replicas_in_sync,
        class_names=tuple(info.class_names) if info.class_names else None,
        clustering_seconds=round(clustering_seconds, 1) if clustering is not None else None,
        init_from_sha256=None if source is None else source.sha256,
    )
    with _disk_errors_reported(out):
        return _fit(gan, batches, run, out, data_dir, callbacks, verbose, distribution)


def _builder_options(config, record, info, data_dir=None):
    """The options the variant of `config` is built with on the data set `info`.

    The data set gives `image_shape` (and `num_classes` to a conditional
    variant); a self-conditioned one (`clusters=k`) gets the clusters found in
    the training images.

    Returns:
        `(options, clustering, seconds)`: the builder options, the
        `zoo.clusters` result (or `None`) and the seconds finding it took.
    """
    options = {"image_shape": info.image_shape}
    if record.conditional:
        if info.num_classes is None:
            raise ZooError(
                f"Variant '{config.variant}' is conditional but data set '{config.dataset}' has no "
                "labels. Use a labelled data set (or a folder with one subfolder per class)."
            )
        options["num_classes"] = info.num_classes
    options["seed"] = config.seed
    options.update(config.variant_config)
    if options.get("clusters") is None or options.get("cluster_frequencies") is not None:
        return options, None, 0.0
    started = time.perf_counter()
    clustering = _cluster_training_images(config, record, data_dir, options["clusters"])
    options["clusters"] = len(clustering.frequencies)
    options["cluster_frequencies"] = clustering.frequencies
    return options, clustering, time.perf_counter() - started


def _build_gan(config, options, distribution):
    """The compiled GAN, built in `config`'s dtype policy under `distribution`."""
    import keras

    import zoo

    policy = config.policy
    warn_about_precision(policy)
    previous_policy = keras.config.dtype_policy()
    if policy:
        keras.config.set_dtype_policy(policy)
    try:
        with distribution.scope():
            gan = zoo.create(config.variant, **options)
            gan.compile(**config.compile_config)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    return gan


def _training_batches(config, record, data_dir, clustering, distribution):
    """The training `tf.data.Dataset`; its batch is the global batch (`config.batch_size`).

    Under a `tf.distribute` strategy Keras splits each batch between the
    replicas. On a multi-worker cluster every worker builds the same pipeline
    (the same shuffle seed, see `zoo.data.pipeline.shard_for_workers`) and keeps its own
    share of each global batch, so the workers together see each batch once.
    """
    from zoo import data
    from zoo.gan import in_multi_worker_mode

    batches = data.load(
        config.dataset,
        split="train",
        batch_size=config.batch_size,
        data_dir=data_dir,
        with_labels=record.conditional,
        seed=shuffle_seed(config.seed, distribution),
        take=config.take,
        labels=None if clustering is None else clustering.assignments,
    )
    batches = batches.repeat() if config.steps_per_epoch is not None else batches
    if not in_multi_worker_mode(distribution):
        return batches
    from zoo.data.pipeline import shard_for_workers

    return shard_for_workers(batches)


def shuffle_seed(seed, distribution):
    """The data's shuffle seed: `seed`, or on a multi-worker cluster without one, the chief's random pick.

    Each worker shuffles its own copy of the data set; they must shuffle it
    alike for their shares of a global batch to be disjoint.
    """
    from zoo.gan import in_multi_worker_mode

    if seed is not None or not in_multi_worker_mode(distribution):
        return seed
    import numpy as np
    import tensorflow as tf

    pick = float(np.random.default_rng().integers(1, 2**24))  # exact in float32

    def chief_pick():
        first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
        return tf.where(first, tf.constant(pick), tf.constant(0.0))

    picked = tf.function(lambda: distribution.reduce("SUM", distribution.run(chief_pick), axis=None))()
    return int(picked)


def _fit(gan, batches, run, out, data_dir, callbacks, verbose, distribution=None):
    """Fits `gan` in the run folder `out` and writes `run.json` before and after.

    A worker other than the chief of a multi-worker cluster does the same work
    in its own `worker_folder` (it resumes from the chief's backup) and removes
    that folder at the end.
    """
    folder = worker_folder(out, distribution or gan.distribute_strategy)
    if folder == out:
        return _fit_in(gan, batches, run, out, data_dir, callbacks, verbose)
    remove_path(folder)  # left by a killed run
    try:
        return _fit_in(gan, batches, run, folder, data_dir, callbacks, verbose, chief_out=out)
    finally:
        remove_path(folder)


def writes_run_folder(distribution):
    """Whether this process writes the run folder: always, but on a multi-worker cluster only the chief."""
    from zoo.gan import in_multi_worker_mode

    return not in_multi_worker_mode(distribution) or distribution.extended.should_checkpoint


def worker_folder(out, distribution):
    """Where this process writes the run folder `out`.

    The chief (worker 0) of a multi-worker cluster and every single-process
    run write `out` itself. Another worker follows TensorFlow's convention for
    multi-worker checkpoints: it writes the same files into its own temporary
    `out/workertemp_<task id>`, which `zoo.training` removes when it ends.

    Example:

    >>> worker_folder("runs/dcgan", tf.distribute.get_strategy())
    'runs/dcgan'
    """
    if writes_run_folder(distribution):
        return out
    return os.path.join(out, f"workertemp_{distribution.cluster_resolver.task_id}")


def _fit_in(gan, batches, run, out, data_dir, callbacks, verbose, chief_out=None):
    """Fits `gan` writing into `out`; a non-chief worker resumes from `chief_out`'s backup."""
    from zoo import callbacks as zoo_callbacks

    config = run.config
    read_out = out if chief_out is None else chief_out
    os.makedirs(out, exist_ok=True)
    clean_stale_temporaries(out, [temporary_pattern(name) for name in RUN_FILES])
    clean_stale_temporaries(os.path.join(out, "samples"), [temporary_pattern(name) for name in SAMPLE_FILES])
    resuming = os.path.isdir(os.path.join(read_out, "backup"))
    seconds_before = _read_clock(read_out) if resuming else 0.0
    nan_guard = zoo_callbacks.TerminateOnNaN()
    run_callbacks = _run_callbacks(run, out, data_dir, nan_guard, seconds_before, callbacks, read_out)
    start = time.perf_counter()
    history = gan.fit(
        batches,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=run_callbacks,
        verbose=verbose,
    )
    steps = int(gan.g_optimizer.iterations.numpy())
    this_session = time.perf_counter() - start
    result = RunResult(
        seconds=round(seconds_before + this_session, 1),
        seconds_this_session=round(this_session, 1),
        generator_steps=steps,
        images_seen=steps * config.batch_size,
        diverged=nan_guard.diverged,
        machine=machine_description(),
    )
    write_run_record(out, run.finished(result))
    return gan, history


def _run_callbacks(run, out, data_dir, nan_guard, seconds_before, extra, read_out=None):
    """The callbacks of a run folder, around the user's `extra` ones.

    They write into `out` and resume from `read_out` (defaults to `out`).
    """
    import keras

    from zoo import callbacks as zoo_callbacks

    config = run.config
    read_out = out if read_out is None else read_out
    run_callbacks = [
        zoo_callbacks.AtomicBackup(
            os.path.join(out, "backup"),
            fallback=os.path.join(read_out, "model.keras"),
            restore_from=os.path.join(read_out, "backup"),
        ),
        # run.json is (re)written once the backup has been restored: a refused resume leaves it as it was.
        keras.callbacks.LambdaCallback(on_train_begin=lambda logs=None: write_run_record(out, run)),
        nan_guard,
        zoo_callbacks.RunClock(os.path.join(out, "clock.json"), seconds_before),
        zoo_callbacks.AtomicCheckpoint(os.path.join(out, "model.keras")),
        zoo_callbacks.SampleGrid(
            os.path.join(out, "samples"),
            n=config.sample_count,
            seed=0,
            log_dir=os.path.join(out, "logs"),
        ),
        *extra,
        keras.callbacks.TensorBoard(os.path.join(out, "logs")),
    ]
    if config.evaluate_every is not None:
        run_callbacks.insert(
            -1,
            zoo_callbacks.Evaluate(
                every=config.evaluate_every, n=5000, dataset=config.dataset, data_dir=data_dir, verbose=0
            ),
        )
    if config.max_minutes is not None:
        # Finding the clusters is part of the budget.
        clustering_minutes = (run.clustering_seconds or 0.0) / 60
        run_callbacks.insert(2, zoo_callbacks.TimeBudget(max(config.max_minutes - clustering_minutes, 0.0)))
    return run_callbacks


def write_run_record(out, run):
    """Writes `run` (a `zoo.run_config.RunRecord`) as `out/run.json`, atomically."""
    write_bytes_atomically(os.path.join(out, "run.json"), run.to_json().encode())


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
        recorded = read_run_record(path).config.variant
    except ZooError as error:
        raise ZooError(f"{error} Received: out={out!r}. Move it away or choose another out folder.") from None
    if recorded != variant:
        raise ZooError(
            f"The run folder {out} holds a run of variant {recorded!r}, not {variant!r}. Received: variant={variant!r}, "
            f"out={out!r}. Resume it with variant {recorded!r} or choose another out folder."
        )


def _cluster_training_images(config, record, data_dir, clusters):
    from zoo import clusters as clusters_module
    from zoo import data

    if not record.self_conditioning:
        raise ZooError(f"Variant '{config.variant}' has no clusters option (self-conditioning); dcgan has.")
    if data.info(config.dataset, data_dir=data_dir).source.startswith("folder:"):
        raise ZooError(
            f"clusters=... needs a named data set (e.g. fashion_mnist); {config.dataset!r} is an image folder."
        )
    images, _ = data.load_arrays(config.dataset, "train", data_dir)
    return clusters_module.cluster_images(images, clusters, seed=config.seed or 0)


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


def warn_about_precision(policy):
    """Warns (one line) when `policy` is emulated on this machine's CPU (`zoo.hardware.precision_warning`)."""
    import warnings

    import tensorflow as tf

    from zoo.hardware import precision_warning

    accelerated = bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))
    message = precision_warning(policy, has_accelerator=accelerated)
    if message:
        warnings.warn(message, stacklevel=3)


def machine_description():
    """A short description of this machine for run records and model cards."""
    import platform

    import tensorflow as tf

    from zoo.hardware import reported_cpu_flags

    devices = [device.device_type for device in tf.config.list_physical_devices()]
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "cpu_flags": reported_cpu_flags(),
        "devices": sorted(set(devices)),
        "tensorflow": tf.__version__,
    }
