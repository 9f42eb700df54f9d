"""`Evaluate`: sample-quality metrics during `fit`, in the logs and TensorBoard."""

import os

import keras

METRIC_KEYS = (
    "fd",
    "kid",
    "classifier_score",
    "precision",
    "recall",
    "density",
    "coverage",
    "conditional_accuracy",
)


class Evaluate(keras.callbacks.Callback):
    """Scores the generator every `every` epochs (and after the last one).

    The metrics of `zoo.metrics.evaluate` (`fd`, `kid`, `classifier_score`,
    `precision`, `recall`, `density`, `coverage`, and `conditional_accuracy`
    for conditional models) are added to the epoch's `logs`, so `History` and
    callbacks placed after this one (e.g. `keras.callbacks.TensorBoard`) see
    them. With `log_dir` they are also written as TensorBoard scalars under
    `log_dir/evaluation`, whatever the callback order.

    The samples use the same latent seed every time, so epochs compare; the
    reference statistics are computed at the first evaluation and reused.

    Args:
        every: evaluate after every `every`-th epoch. Defaults to `5`.
        n: samples per evaluation. Defaults to `5000`.
        dataset: the data set the GAN learns (its test split is the
            reference). Defaults to `"fashion_mnist"`.
        seed: latent seed of the samples. Defaults to `0`.
        classifier: path of a classifier; defaults to the published one.
        log_dir: TensorBoard folder, or `None`. Defaults to `None`.
        batch_size: images generated at once. Defaults to `500`.
        verbose: print one line per evaluation when `1`. Defaults to `1`.
        data_dir: folder with local data files (see `zoo.data`).

    Example:

    >>> gan.fit(ds, epochs=50, callbacks=[zoo.callbacks.Evaluate(every=5, n=5000)])
    >>> history.history["fd"]   # one value per evaluated epoch
    """

    def __init__(
        self,
        every=5,
        n=5000,
        dataset="fashion_mnist",
        seed=0,
        classifier=None,
        log_dir=None,
        batch_size=500,
        verbose=1,
        data_dir=None,
    ):
        from zoo.errors import ZooError
        from zoo.latent import check_count

        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ZooError(f"every must be a positive integer. Received: every={every!r}.")
        self.every = every
        self.n = check_count(n)
        self.dataset = dataset
        self.seed = seed
        self.classifier = classifier
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.batch_size = batch_size
        self.verbose = verbose
        self.data_dir = data_dir
        self.last_result = None
        self._source = None
        self._writer = None

    def on_train_begin(self, logs=None):
        from zoo.metrics import evaluation

        # Fail before the first epoch, not after it, if the data or the
        # classifier is missing.
        classifier_info, extractor = evaluation.classifier_for(self.dataset, self.classifier)
        evaluation.reference_for(self.dataset, classifier_info, extractor, data_dir=self.data_dir)

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every and epoch + 1 != last:
            return
        from zoo.callbacks import logs_are_finite
        from zoo.metrics.evaluation import evaluate

        if not logs_are_finite(logs):  # a diverged epoch (`TerminateOnNaN`): nothing worth scoring
            return
        from zoo.metrics.sources import KerasSource

        if self._source is None:
            self._source = KerasSource(self.model, name=f"{self.model.name} (training)")
        result = evaluate(
            self._source,
            self.dataset,
            n=self.n,
            seed=self.seed,
            classifier=self.classifier,
            batch_size=self.batch_size,
            data_dir=self.data_dir,
        )
        self.last_result = result
        values = {key: result.metrics[key] for key in METRIC_KEYS if result.metrics.get(key) is not None}
        if logs is not None:
            logs.update(values)
        if self.log_dir:
            self._log_scalars(values, epoch + 1)
        if self.verbose:
            text = " - ".join(f"{key}: {value:.4g}" for key, value in values.items())
            print(f"\nzoo: epoch {epoch + 1}: {text} ({result.runtime['total']:.1f} s, n={self.n})")

    def _log_scalars(self, values, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "evaluation"))
        with self._writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(key, value, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
