"""Keras callbacks for GAN training runs.

`zoo train` uses all of them; they work with any `zoo.GAN` in a plain `fit`.
`Evaluate` (from `zoo.metrics`) scores samples every few epochs into the logs.

Example:

>>> gan.fit(ds, epochs=20, callbacks=[
...     zoo.callbacks.SampleGrid("runs/dcgan/samples", log_dir="runs/dcgan/logs"),
...     zoo.callbacks.TerminateOnNaN(),
...     zoo.callbacks.AtomicCheckpoint("runs/dcgan/model.keras"),
... ])
"""

import json
import math
import os
import time

import keras

from zoo.files import atomic_path, write_bytes_atomically
from zoo.images import save_grid
from zoo.metrics.callback import Evaluate  # noqa: F401  (re-exported)


def _finite(logs):
    return all(
        math.isfinite(float(value))
        for value in (logs or {}).values()
        if isinstance(value, (int, float)) or hasattr(value, "__float__")
    )


class TerminateOnNaN(keras.callbacks.Callback):
    """Stops training as soon as any logged loss or metric is NaN or infinite.

    Unlike `keras.callbacks.TerminateOnNaN`, which only watches `loss`, this
    watches every value a GAN logs (`d_loss`, `g_loss`, ...), and marks the
    model so `AtomicCheckpoint` keeps the last good file.
    """

    def on_train_begin(self, logs=None):
        self.model.diverged = False

    def on_train_batch_end(self, batch, logs=None):
        if not _finite(logs):
            print(f"\nzoo: batch {batch}: non-finite loss {logs}; stopping, last good model kept.")
            self.model.diverged = True
            self.model.stop_training = True


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the model to `path` at each epoch end, atomically.

    The file is written to a temporary sibling and renamed, so a crash never
    leaves a half-written model; nothing is written for an epoch whose logs hold
    a non-finite value or after `TerminateOnNaN` fired.

    Args:
        path: a `.keras` file path.
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch, logs=None):
        if getattr(self.model, "diverged", False) or not _finite(logs):
            return
        with atomic_path(self.path) as temporary:
            self.model.save(temporary)


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of samples from fixed latent seeds after every epoch.

    Epochs stay comparable because every grid uses the same `z` (and labels).
    For conditional models the labels default to `i % num_classes`.

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
        if getattr(self.model, "diverged", False):
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
