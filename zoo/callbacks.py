"""Keras callbacks for GAN training runs.

`zoo train` uses all of them; they work with any `zoo.GAN` in a plain `fit`.
`Evaluate` (from `zoo.metrics`) scores samples every few epochs into the logs.

Example:

>>> gan.fit(ds, epochs=20, callbacks=[
...     zoo.callbacks.SampleGrid("runs/dcgan/samples", log_dir="runs/dcgan/logs"),
...     zoo.callbacks.TerminateOnNaN(),
...     zoo.callbacks.AtomicCheckpoint("runs/dcgan/model.keras"),
...     zoo.callbacks.AtomicBackup("runs/dcgan/backup", fallback="runs/dcgan/model.keras"),
... ])
"""

import datetime
import fnmatch
import json
import math
import os
import sys
import time
import warnings

import keras

from zoo.errors import ZooError
from zoo.files import (
    atomic_path,
    clean_stale_temporaries,
    remove_path,
    sha256_file,
    temporary_pattern,
    write_bytes_atomically,
)
from zoo.images import save_grid
from zoo.metrics.callback import Evaluate  # noqa: F401  (re-exported)


def logs_are_finite(logs):
    """Whether every number in a callback's `logs` is finite.

    A `zoo.GAN` logs running means over the epoch, so one non-finite batch
    leaves the whole epoch's logs non-finite: the callbacks that save, draw or
    score an epoch (`AtomicCheckpoint`, `SampleGrid`, `Evaluate`) skip an
    epoch for which this is `False`, which is every epoch `TerminateOnNaN`
    stops in.

    Example:

    >>> logs_are_finite({"d_loss": 0.7, "g_loss": float("nan")})
    False
    """
    return all(
        math.isfinite(float(value))
        for value in (logs or {}).values()
        if isinstance(value, (int, float)) or hasattr(value, "__float__")
    )


class TerminateOnNaN(keras.callbacks.Callback):
    """Stops training as soon as any logged loss or metric is NaN or infinite.

    Unlike `keras.callbacks.TerminateOnNaN`, which only watches `loss`, this
    watches every value a GAN logs (`d_loss`, `g_loss`, ...). The epoch it
    stops in ends with non-finite logs, so `AtomicCheckpoint` keeps the last
    good file (see `logs_are_finite`).

    Attributes:
        diverged: whether it stopped the last `fit` it watched; `zoo.training`
            records it as `run.json`'s `result.diverged`.

    Example:

    >>> nan_guard = zoo.callbacks.TerminateOnNaN()
    >>> gan.fit(ds, epochs=20, callbacks=[nan_guard])
    >>> nan_guard.diverged
    False
    """

    def __init__(self):
        super().__init__()
        self.diverged = False

    def on_train_begin(self, logs=None):
        self.diverged = False

    def on_train_batch_end(self, batch, logs=None):
        if not logs_are_finite(logs):
            print(f"\nzoo: batch {batch}: non-finite loss {logs}; stopping, last good model kept.")
            self.diverged = True
            self.model.stop_training = True


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the model to `path` at each epoch end, atomically, and records its epoch.

    The file is written to a temporary sibling and renamed, so a crash never
    leaves a half-written model; nothing is written for an epoch whose logs hold
    a non-finite value (`logs_are_finite`), such as the one `TerminateOnNaN`
    stopped.

    Beside it, `<path>.json` (see `checkpoint_epoch`) records how many epochs the
    file holds with its sha256, and the previous file's, written before the
    rename: whatever moment a kill strikes, the file on disk matches one of the
    two records, so a run whose backup is lost resumes from `path`.

    Args:
        path: a `.keras` file path.
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)
        self._on_disk = False  # the record entry of the file at `path`; False: not looked up yet

    def on_epoch_end(self, epoch, logs=None):
        if not logs_are_finite(logs):
            return
        if self._on_disk is False:
            self._on_disk = _recorded_entry(self.path)
        with atomic_path(self.path) as temporary:
            self.model.save(temporary)
            entry = {"epoch": epoch + 1, "sha256": sha256_file(temporary), "size": os.path.getsize(temporary)}
            record = {"file": os.path.basename(self.path), **entry, "previous": self._on_disk}
            write_bytes_atomically(checkpoint_record_path(self.path), json.dumps(record, indent=2).encode())
        self._on_disk = entry


def checkpoint_record_path(path):
    """The epoch record `AtomicCheckpoint` keeps beside the model file `path`."""
    return f"{os.fspath(path)}.json"


def checkpoint_epoch(path):
    """Epochs held by the `AtomicCheckpoint` file `path`, or `None` if unknown.

    The file's sha256 must match its record (the current or the previous
    entry); a missing, changed or unrecorded file gives `None`.

    Example:

    >>> checkpoint_epoch("runs/dcgan/model.keras")
    12
    """
    entry = _recorded_entry(path)
    return None if entry is None else entry["epoch"]


def _recorded_entry(path):
    """The entry (`epoch`, `sha256`, `size`) of `path`'s record that matches the file, or `None`."""
    path = os.fspath(path)
    record = _read_json(checkpoint_record_path(path))
    if not _valid_checkpoint_record(record) or not os.path.isfile(path):
        return None
    size = os.path.getsize(path)
    candidates = [record] + ([record["previous"]] if _valid_checkpoint_record(record.get("previous")) else [])
    candidates = [entry for entry in candidates if entry["size"] == size]
    digest = sha256_file(path) if candidates else None
    for entry in candidates:
        if entry["sha256"] == digest:
            return {key: entry[key] for key in ("epoch", "sha256", "size")}
    return None


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _valid_checkpoint_record(record):
    return (
        isinstance(record, dict)
        and isinstance(record.get("epoch"), int)
        and record["epoch"] >= 0
        and isinstance(record.get("sha256"), str)
        and isinstance(record.get("size"), int)
    )


def _one_line(error):
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."


class AtomicBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose backup survives kills and full disks.

    At each epoch end the whole training state (weights and optimizer state) is
    saved as `backup_dir/state-EEEE-BBBBB.keras` through a temporary sibling and
    a rename; then `training_metadata.json` (also temporary + rename) names that
    file with its sha256 and size, and older states are removed. At any kill
    point the metadata names a complete file. The `.keras` writer serializes the
    weights in memory and writes them with plain file I/O, so a full disk is an
    ordinary `OSError` (ENOSPC, EFBIG) and the previous pair stays as it was.

    On train begin the pair is checked. A bad backup (truncated or garbled file,
    garbled metadata, a file missing, a legacy `latest.weights.h5` that does not
    load) is moved aside to `<backup_dir>.corrupt-<UTC time>/`, never deleted,
    with one `zoo: warning:` line on stderr, and training resumes from
    `fallback` (an `AtomicCheckpoint` file, at the epoch its record holds) or,
    without one, from scratch. A backup that is intact but does not fit the
    model (other settings) is a `ZooError`.

    Args:
        backup_dir: the backup folder, used by nothing else.
        fallback: the `.keras` file of an `AtomicCheckpoint` of the same run.
            Defaults to `None` (a bad backup restarts from scratch).
        save_freq: `"epoch"` or a number of batches, as in `BackupAndRestore`.
        restore_from: the backup folder to resume from. Defaults to
            `backup_dir`. A worker other than the chief of a multi-worker
            cluster resumes from the chief's backup and writes its own; it
            reads that backup only (a bad one is set aside by the chief, and
            both fall back to `fallback`).

    Example:

    >>> gan.fit(ds, epochs=20, callbacks=[
    ...     zoo.callbacks.AtomicBackup("runs/dcgan/backup", fallback="runs/dcgan/model.keras"),
    ...     zoo.callbacks.AtomicCheckpoint("runs/dcgan/model.keras"),
    ... ])
    """

    STATE_PATTERN = "state-*.keras"
    LEGACY_FILES = ("latest.weights.h5", "latest.weights.h5.bkp", "training_metadata.json.bkp")

    def __init__(self, backup_dir, fallback=None, save_freq="epoch", restore_from=None):
        super().__init__(os.fspath(backup_dir), save_freq=save_freq, double_checkpoint=False, delete_checkpoint=True)
        self.fallback = None if fallback is None else os.fspath(fallback)
        self.restore_from = self.backup_dir if restore_from is None else os.fspath(restore_from)
        self.set_aside = None
        self.resumed_from = None
        self.resumed_epoch = 0

    # -- restoring --------------------------------------------------------

    def temporary_patterns(self):
        """The names of the temporaries this callback's writes use."""
        return [temporary_pattern(self.STATE_PATTERN), temporary_pattern(os.path.basename(self._training_metadata_path))]

    def on_train_begin(self, logs=None):
        if not self.model.built:
            super()._load_model()  # raises Keras' own "must be built" error
        clean_stale_temporaries(self.backup_dir, self.temporary_patterns())
        if os.path.abspath(self.restore_from) != os.path.abspath(self.backup_dir):
            return self._restore_read_only()
        if not os.path.isdir(self.backup_dir):
            return
        state, problem = self._read_state()
        if state is None and problem is None:
            return  # an empty folder: nothing was backed up yet
        if problem is None:
            path, epoch, verified = state
            snapshot = None if verified else self._snapshot()
            try:
                self._restore(path, epoch)
            except Exception as error:  # noqa: BLE001 - any load failure is reported below
                if verified:
                    raise ZooError(
                        f"The backup {path} is intact but does not fit this model ({_one_line(error)}). "
                        "Resume with the settings the run was started with (see its run.json), or use another out folder."
                    ) from None
                self._put_back(snapshot)
                problem = f"it does not load: {_one_line(error)}"
            else:
                self.resumed_from, self.resumed_epoch = path, epoch
                self._remove_other_states(os.path.basename(path))
                return
        self._set_aside_and_fall_back(problem)

    def _restore_read_only(self):
        """Resumes from `restore_from`, another process's backup, touching nothing in it."""
        state, problem = None, None
        if os.path.isdir(self.restore_from):
            state, problem = self._read_state(self.restore_from)
        if problem is None and state is not None:
            path, epoch, _ = state
            self._restore(path, epoch)
            self.resumed_from, self.resumed_epoch = path, epoch
            return
        epoch = None if problem is None or self.fallback is None else checkpoint_epoch(self.fallback)
        if epoch:
            self._restore(self.fallback, epoch)
            self.resumed_from, self.resumed_epoch = self.fallback, epoch

    def _read_state(self, directory=None):
        """Returns `((path, epoch, verified), None)`, `(None, problem)` or `(None, None)` (empty)."""
        directory = self.backup_dir if directory is None else directory
        names = sorted(os.listdir(directory))
        if not names:
            return None, None
        metadata_name = os.path.basename(self._training_metadata_path)
        metadata_path = os.path.join(directory, metadata_name)
        if metadata_name not in names:
            return None, f"{metadata_name} is missing (a kill during the first backup?)"
        try:
            with open(metadata_path, encoding="utf-8") as file:
                metadata = json.load(file)
        except (OSError, ValueError) as error:
            return None, f"{metadata_name} is unreadable ({_one_line(error)})"
        if not isinstance(metadata, dict) or not isinstance(metadata.get("epoch"), int) or metadata["epoch"] < 0:
            return None, f"{metadata_name} holds no epoch"
        if "file" not in metadata:  # written by keras.callbacks.BackupAndRestore
            path = os.path.join(directory, os.path.basename(self._weights_path))
            if not os.path.isfile(path):
                return None, f"{os.path.basename(path)} is missing"
            return (path, metadata["epoch"], False), None
        name = metadata["file"]
        if not isinstance(name, str) or not fnmatch.fnmatchcase(name, self.STATE_PATTERN) or os.sep in name:
            return None, f"{metadata_name} names no state file"
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            return None, f"{name} is missing"
        if os.path.getsize(path) != metadata.get("size") or sha256_file(path) != metadata.get("sha256"):
            return None, f"{name} does not match its sha256 (truncated or garbled)"
        return (path, metadata["epoch"], True), None

    def _restore(self, path, epoch):
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed load is reported as one line
            model.load_weights(path)
        model._initial_epoch = epoch

    def _optimizers(self):
        found = [getattr(self.model, "optimizer", None)]
        found += [value for value in vars(self.model).values() if isinstance(value, keras.optimizers.Optimizer)]
        unique = []
        for optimizer in found:
            if optimizer is not None and all(optimizer is not other for other in unique):
                unique.append(optimizer)
        return unique

    def _snapshot(self):
        """Values of every variable a load may touch, to undo a partial load."""
        variables = list(self.model.variables)
        for optimizer in self._optimizers():
            variables += list(optimizer.variables)
        return [(variable, keras.ops.convert_to_numpy(variable.value)) for variable in variables]

    @staticmethod
    def _put_back(snapshot):
        for variable, value in snapshot or ():
            variable.assign(value)

    def _set_aside_and_fall_back(self, problem):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = f"{self.backup_dir.rstrip(os.sep)}.corrupt-{stamp}"
        counter = 1
        while os.path.lexists(aside):
            counter += 1
            aside = f"{self.backup_dir.rstrip(os.sep)}.corrupt-{stamp}-{counter}"
        os.rename(self.backup_dir, aside)
        self.set_aside = aside
        epoch = None if self.fallback is None else checkpoint_epoch(self.fallback)
        if epoch is not None and epoch > 0:
            try:
                self._restore(self.fallback, epoch)
            except Exception as error:  # noqa: BLE001
                raise ZooError(
                    f"The backup was bad ({problem}; moved to {aside}) and {self.fallback} does not fit this "
                    f"model ({_one_line(error)}). Resume with the run's own settings (see its run.json)."
                ) from None
            self.resumed_from, self.resumed_epoch = self.fallback, epoch
            resume = f"resuming from {self.fallback} after epoch {epoch}"
        else:
            resume = "no earlier good state, so training starts from scratch"
        print(f"zoo: warning: backup {self.backup_dir} is corrupt ({problem}); moved it to {aside}; {resume}.",
              file=sys.stderr, flush=True)

    # -- saving -----------------------------------------------------------

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"state-{self._current_epoch:04d}-{self._last_batch_seen:05d}.keras"
        path = os.path.join(self.backup_dir, name)
        with atomic_path(path) as temporary:
            self.model.save(temporary)
            digest, size = sha256_file(temporary), os.path.getsize(temporary)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "file": name,
            "sha256": digest,
            "size": size,
        }
        write_bytes_atomically(self._training_metadata_path, json.dumps(metadata, indent=2).encode())
        self._remove_other_states(name)

    def _remove_other_states(self, keep):
        for name in os.listdir(self.backup_dir):
            if name != keep and (fnmatch.fnmatchcase(name, self.STATE_PATTERN) or name in self.LEGACY_FILES):
                remove_path(os.path.join(self.backup_dir, name))


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of samples from fixed latent seeds after every epoch.

    Epochs stay comparable because every grid uses the same `z` (and labels).
    For conditional models the labels default to `i % num_classes`. An epoch
    whose logs are not finite (`logs_are_finite`) gets no grid.

    Args:
        directory: where `epoch_001.png`, ... go.
        n: number of images. Defaults to `64`.
        seed: latent seed. Defaults to `0`.
        labels: labels for a conditional model. Defaults to cycling classes.
        log_dir: if given, the grid is also logged as a TensorBoard image
            under `log_dir/samples`.
    """

    def __init__(self, directory, n=64, seed=0, labels=None, log_dir=None):
        super().__init__()
        self.directory = os.fspath(directory)
        self.n = n
        self.seed = seed
        self.labels = labels
        self.log_dir = log_dir
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if not logs_are_finite(logs):  # a diverged epoch (`TerminateOnNaN`): nothing worth drawing
            return
        labels = self.labels
        if labels is None and self.model.num_classes is not None:
            labels = [i % self.model.num_classes for i in range(self.n)]
        images = self.model.generate(self.n, labels=labels, seed=self.seed)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        grid = save_grid(images, path)
        if self.log_dir:
            self._log_image(grid, epoch + 1)

    def _log_image(self, grid, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(
                os.path.join(self.log_dir, "samples")
            )
        with self._writer.as_default():
            tf.summary.image("samples", grid[None].astype("float32") / 255.0, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `minutes` of wall-clock time have passed.

    The check runs after every batch; the epoch in progress ends early, so the
    usual end-of-epoch work (checkpoint, sample grid) still happens. The budget
    counts from the first `fit` of this callback, across resumed runs only if
    you pass the remaining time.

    Args:
        minutes: the training budget.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = float(minutes) * 60.0
        self.start = None
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        import time

        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        import time

        if time.perf_counter() - self.start >= self.seconds:
            self.stopped_early = True
            self.model.stop_training = True


class RunClock(keras.callbacks.Callback):
    """Keeps a run's total training time in a small JSON file across resumes.

    At each epoch end it writes `{"seconds": before + this session}` to
    `path`, so a run killed and resumed still reports its whole training time.

    Args:
        path: the JSON file.
        seconds_before: training seconds of earlier sessions.
    """

    def __init__(self, path, seconds_before=0.0):
        super().__init__()
        self.path = os.fspath(path)
        self.seconds_before = float(seconds_before)
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        total = self.seconds_before + time.perf_counter() - self.start
        write_bytes_atomically(self.path, json.dumps({"seconds": round(total, 1)}).encode())
