"""`evaluate`: every sample-quality metric of a generator, with its protocol.

Protocol (recorded in every result):

- reference: the data set's **test** split (10k images for (Fashion-)MNIST),
  scaled `x / 127.5 - 1`;
- samples: `n` images (default 10k) from latent seed `seed` (default 0), drawn
  with `zoo.latent.sample_latent` as `GAN.generate` does; conditional models get
  the balanced labels `i % num_classes`;
- every image is clipped to [-1, 1] and quantised to 8 bits (`to_uint8`), as a
  saved PNG would be, so float noise between runtimes rarely changes a figure;
  images of another size than the classifier's input are resized (bilinear,
  antialiased) and grey/RGB converted, which the protocol then says;
- features: the `"features"` layer (128-d) of the published domain classifier,
  identified by its sha256; probabilities: its softmax;
- FD and the classifier score use all `n` samples (streamed: only sums are
  kept); KID uses 100 subsets of min(1000, n); precision/recall/density/
  coverage use k = 5 on the first `knn_cap` (10k) samples against the
  reference (a seeded subset of `knn_cap` if the reference is larger).

The reference's features, statistics and k-NN radii are computed once per
process and reused (the training callback evaluates many times).
"""

import dataclasses
import time

import numpy as np

from zoo.errors import ZooError
from zoo.metrics import frechet, kid, manifold, scores

DEFAULT_N = 10_000
DEFAULT_SEED = 0
DEFAULT_BATCH_SIZE = 500
REFERENCE_SPLIT = "test"
KNN_CAP = 10_000

_REFERENCES = {}
_EXTRACTORS = {}


@dataclasses.dataclass
class Reference:
    """Everything about the reference split that the metrics need."""

    dataset: str
    split: str
    count: int
    statistics: object
    features: np.ndarray
    kernel: object
    knn_features: np.ndarray
    knn_radii: np.ndarray
    class_names: tuple


@dataclasses.dataclass
class EvaluationResult:
    """The outcome of `evaluate`: metrics, protocol, sample source and timings.

    Attributes:
        metrics: `{name: float or None}`: `fd`, `kid`, `kid_std`,
            `classifier_score`, `classifier_score_std`, `precision`,
            `recall`, `density`, `coverage`, `conditional_accuracy` (None for
            unconditional sources) and `inception_fid` (None unless computed).
        class_histogram: `{"class_names", "counts", "fractions"}` of the
            predicted classes.
        protocol: how the figures were obtained (JSON-ready).
        source: what was scored.
        runtime: seconds spent generating, extracting features, on metrics.
        notes: one-line remarks (e.g. why Inception-FID was skipped).
    """

    metrics: dict
    class_histogram: dict
    protocol: dict
    source: dict
    runtime: dict
    notes: list = dataclasses.field(default_factory=list)

    def scalars(self):
        """The metrics that have a value, as `{name: float}` (for Keras logs)."""
        return {name: value for name, value in self.metrics.items() if value is not None}

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        from zoo.metrics.report import format_result

        return format_result(self)


def evaluate(
    model,
    dataset="fashion_mnist",
    n=DEFAULT_N,
    seed=DEFAULT_SEED,
    *,
    classifier=None,
    batch_size=DEFAULT_BATCH_SIZE,
    k=manifold.K,
    knn_cap=KNN_CAP,
    inception=False,
    data_dir=None,
    truncation=None,
    providers=None,
):
    """Scores the samples of `model` against `dataset`'s test split.

    Args:
        model: a path (`.keras`, `.onnx`, export folder), a `zoo.GAN`, a
            generator `keras.Model` or a `zoo.metrics.sources.ImageSource`.
        dataset: the data set whose test split is the reference. Defaults to
            `"fashion_mnist"`.
        n: number of samples. Defaults to `10000`.
        seed: latent seed of the samples. Defaults to `0`.
        classifier: path of a classifier `.keras` (or its folder); defaults to
            the published classifier of `dataset`.
        batch_size: images generated and scored at once. Defaults to `500`.
        k: neighbourhood size of precision/recall/density/coverage.
            Defaults to `5`.
        knn_cap: samples (and reference images) used by the k-NN metrics.
            Defaults to `10000`.
        inception: also compute Inception-FID if its weights are local.
            Defaults to `False`.
        data_dir: folder with local data files (see `zoo.data`).
        truncation: `psi` in (0, 1] to score the truncated generator (its
            latents scaled by `psi`, as `generate(..., truncation=psi)` draws
            them); `None` (the default): not truncated.
        providers: onnxruntime execution providers of an ONNX model (see
            `zoo.sessions.check_providers`; reported in `source["providers"]`).
            Defaults to the best available, the CPU last.

    Returns:
        An `EvaluationResult`.

    Example:

    >>> result = evaluate("runs/dcgan/model.keras", "fashion_mnist", n=10000, seed=0)
    >>> result.metrics["fd"], result.metrics["coverage"]
    """
    from zoo import data
    from zoo.metrics import sources

    start = time.perf_counter()
    n, k, batch_size, knn_cap = _check_sizes(n, k, batch_size, knn_cap)
    info = data.info(dataset, data_dir=data_dir)
    source = sources.open_source(model, num_classes=info.num_classes, providers=providers)
    if truncation is not None:
        if not isinstance(source, sources.GeneratorSource):
            raise ZooError(f"truncation applies to generators; {source.name} is not one. Leave truncation out.")
        source = source.truncated(truncation)
    tick = time.perf_counter()
    classifier_info, extractor = classifier_for(dataset, classifier)
    reference = reference_for(dataset, classifier_info, extractor, k=k, knn_cap=knn_cap, data_dir=data_dir)
    reference_seconds = time.perf_counter() - tick  # ~0 once cached
    if source.conditional and source.num_classes != extractor.num_classes:
        raise ZooError(
            f"The model has {source.num_classes} classes but the classifier of '{dataset}' has "
            f"{extractor.num_classes}. Score it against the data set it was trained on."
        )
    scored = _score_samples(source, extractor, n, seed, batch_size)
    timings = scored.timings
    tick = time.perf_counter()
    metrics = _metrics(scored, reference, seed, k, knn_cap)
    counts = scores.class_histogram(scored.probabilities, extractor.num_classes)
    timings["metrics"] = time.perf_counter() - tick

    metrics["inception_fid"], inception_protocol, notes = None, None, []
    if inception:
        tick = time.perf_counter()
        metrics["inception_fid"], inception_protocol, note = inception_fid(source, dataset, n, seed, batch_size, data_dir)
        notes += [note] if note else []
        timings["inception"] = time.perf_counter() - tick
    runtime = _runtime(timings, reference_seconds, time.perf_counter() - start, n)
    settings = {"dataset": dataset, "n": n, "seed": seed, "batch_size": batch_size, "k": k, "knn_cap": knn_cap}
    return EvaluationResult(
        metrics=metrics,
        class_histogram={
            "class_names": list(reference.class_names),
            "counts": [int(count) for count in counts],
            "fractions": [round(float(count) / n, 4) for count in counts],
        },
        protocol=_protocol(settings, source, reference, classifier_info, extractor, scored.resize_note, inception_protocol),
        source=source.describe(),
        runtime=runtime,
        notes=notes,
    )


def _runtime(timings, reference_seconds, total_seconds, n):
    """The rounded timings of `EvaluationResult.runtime`, with the total and the throughput."""
    runtime = {name: round(value, 3) for name, value in timings.items()}
    runtime["reference"] = round(reference_seconds, 3)
    runtime["total"] = round(total_seconds, 3)
    runtime["samples_per_second"] = round(n / max(runtime["total"], 1e-9), 1)
    return runtime


@dataclasses.dataclass
class _Scored:
    """What the classifier made of the samples: features, probabilities, labels asked for."""

    statistics: object
    features: np.ndarray
    probabilities: np.ndarray
    labels: object
    resize_note: object
    timings: dict


def _check_sizes(n, k, batch_size, knn_cap):
    """`(n, k, batch_size, knn_cap)` checked; a `ZooError` for a bad one."""
    from zoo.latent import check_count

    n = check_count(n)
    k = _check_small_int("k", k, 1)
    batch_size = _check_small_int("batch_size", batch_size, 1)
    knn_cap = _check_small_int("knn_cap", knn_cap, k + 1)
    if n <= k:
        raise ZooError(f"Too few samples for the k-NN metrics (k={k}). Received: n={n}. Allowed: n >= {k + 1}.")
    return n, k, batch_size, knn_cap


def _score_samples(source, extractor, n, seed, batch_size):
    """Draws `n` samples from `source` batch by batch and runs the classifier on them (timed)."""
    statistics = frechet.FeatureStatistics()
    features, probabilities, labels = [], [], []
    timings = {"generate": 0.0, "features": 0.0}
    resize_note = None
    batches = source.batches(n, seed=seed, batch_size=batch_size)
    while True:
        tick = time.perf_counter()
        try:
            images, batch_labels = next(batches)
        except StopIteration:
            break
        timings["generate"] += time.perf_counter() - tick
        tick = time.perf_counter()
        images, resize_note = prepare_images(images, extractor.image_shape, source.name)
        batch_features, batch_probabilities = extractor(images)
        statistics.update(batch_features)
        features.append(batch_features)
        probabilities.append(batch_probabilities)
        if batch_labels is not None:
            labels.append(batch_labels)
        timings["features"] += time.perf_counter() - tick
    return _Scored(
        statistics=statistics,
        features=np.concatenate(features),
        probabilities=np.concatenate(probabilities),
        labels=np.concatenate(labels) if labels else None,
        resize_note=resize_note,
        timings=timings,
    )


def _metrics(scored, reference, seed, k, knn_cap):
    """Every metric but Inception-FID, from the scored samples and the reference."""
    metrics = {"fd": frechet.frechet_distance_from_statistics(scored.statistics, reference.statistics)}
    metrics["kid"], metrics["kid_std"] = reference.kernel.distance(scored.features, seed=seed)
    metrics["classifier_score"], metrics["classifier_score_std"] = scores.classifier_score(scored.probabilities)
    metrics.update(
        manifold.precision_recall_density_coverage(
            reference.knn_features, scored.features[:knn_cap], k=k, real_radii=reference.knn_radii
        )
    )
    metrics["conditional_accuracy"] = (
        None if scored.labels is None else scores.conditional_accuracy(scored.probabilities, scored.labels)
    )
    return metrics


def _protocol(settings, source, reference, classifier_info, extractor, resize_note, inception_protocol):
    """How the figures were obtained (JSON-ready), for `EvaluationResult.protocol`."""
    n, k = settings["n"], settings["k"]
    return {
        "dataset": settings["dataset"],
        "reference_split": reference.split,
        "reference_count": reference.count,
        "n": n,
        "seed": settings["seed"],
        **source.protocol(),
        "batch_size": settings["batch_size"],
        "preprocessing": "clip to [-1, 1], quantise to 8 bits",
        "resize": resize_note or "none",
        "classifier": classifier_info.describe(),
        "features": f"'{extractor.feature_layer}' layer, {extractor.feature_dim}-d",
        "fd": "Frechet distance of Gaussians fitted to all n sample features vs the reference (covariance ddof=1)",
        "kid": {
            "kernel": "(x.y/d + 1)^3 on features / feature_scale",
            "feature_scale": round(reference.kernel.scale, 6),
            "estimator": "unbiased MMD^2, mean and std over subsets",
            "subsets": kid.SUBSETS,
            "subset_size": min(kid.SUBSET_SIZE, n, reference.count),
            "subset_seeds": {"reference": kid.REFERENCE_SEED, "samples": settings["seed"]},
        },
        "classifier_score": {"definition": "exp(E KL(p(y|x) || p(y)))", "splits": min(scores.SPLITS, n)},
        "knn": {
            "k": k,
            "samples": min(n, settings["knn_cap"]),
            "reference": len(reference.knn_features),
            "distance": "euclidean",
            "inside": "strict <",
        },
        "inception": inception_protocol,
        "versions": _versions(source.kind),
    }


def prepare_images(images, image_shape, name="the model"):
    """Checks, clips, 8-bit quantises and (if needed) resizes a batch.

    Returns:
        `(images, resize_note or None)`.
    """
    from zoo.images import to_uint8

    images = np.asarray(images)
    if images.ndim != 4:
        raise ZooError(f"{name} produced images of shape {images.shape}; expected [batch, H, W, C].")
    if not np.all(np.isfinite(images)):
        raise ZooError(f"{name} produced non-finite pixel values (NaN or inf); it has diverged.")
    images = to_uint8(images).astype(np.float32) / 127.5 - 1.0
    note = None
    height, width, channels = image_shape
    if images.shape[-1] != channels:
        if images.shape[-1] == 3 and channels == 1:
            images = images @ np.array([0.2989, 0.587, 0.114], np.float32)[:, None]
        elif images.shape[-1] == 1 and channels == 3:
            images = np.repeat(images, 3, axis=-1)
        else:
            raise ZooError(f"{name} produces {images.shape[-1]} channels; the classifier takes {channels}.")
        note = f"channels {images.shape[-1]} -> {channels}"
    if images.shape[1:3] != (height, width):
        import tensorflow as tf

        original = images.shape[1:3]
        images = tf.image.resize(images, (height, width), method="bilinear", antialias=True).numpy()
        images = np.clip(images, -1.0, 1.0)
        note = ", ".join(filter(None, [note, f"bilinear antialiased {original[0]}x{original[1]} -> {height}x{width}"]))
    return images, note


def classifier_for(dataset, classifier=None):
    """Returns `(ClassifierInfo, FeatureExtractor)` for `dataset`, cached."""
    from zoo.metrics import published
    from zoo.metrics.classifier import FeatureExtractor

    info = published.find_classifier(dataset, classifier)
    if info.dataset is not None and info.dataset != dataset:
        raise ZooError(
            f"The classifier {info.path} was trained on '{info.dataset}', not '{dataset}'. "
            "Pass the classifier of the data set being scored."
        )
    if info.sha256 not in _EXTRACTORS:
        _EXTRACTORS[info.sha256] = FeatureExtractor(published.load_classifier(info))
    return info, _EXTRACTORS[info.sha256]


def reference_for(dataset, classifier_info, extractor, k=manifold.K, knn_cap=KNN_CAP, data_dir=None, split=REFERENCE_SPLIT):
    """Features, statistics and k-NN radii of the reference split, cached per process."""
    from zoo import data
    from zoo.metrics.classifier import to_float

    key = (classifier_info.sha256, dataset, split, data_dir, k, knn_cap)
    if key in _REFERENCES:
        return _REFERENCES[key]
    images, _ = data.load_arrays(dataset, split, data_dir=data_dir)
    statistics = frechet.FeatureStatistics()
    features = []
    for begin in range(0, len(images), DEFAULT_BATCH_SIZE):
        batch_features, _ = extractor(to_float(images[begin : begin + DEFAULT_BATCH_SIZE]))
        statistics.update(batch_features)
        features.append(batch_features)
    features = np.concatenate(features)
    knn_features = features
    if len(features) > knn_cap:
        knn_features = features[np.sort(np.random.default_rng(0).choice(len(features), knn_cap, replace=False))]
    info = data.info(dataset, data_dir=data_dir)
    reference = Reference(
        dataset=dataset,
        split=split,
        count=len(images),
        statistics=statistics,
        features=features,
        kernel=kid.KernelReference(features, scale="rms"),
        knn_features=knn_features,
        knn_radii=manifold.knn_radii(knn_features, k),
        class_names=tuple(info.class_names or range(extractor.num_classes)),
    )
    _REFERENCES[key] = reference
    return reference


def inception_fid(source, dataset, n, seed, batch_size, data_dir=None):
    """Inception-FID of `source` if the weights are local.

    Returns:
        `(value or None, protocol dict or None, note or None)`.
    """
    from zoo import data
    from zoo.metrics import inception
    from zoo.metrics.classifier import to_float

    weights = inception.find_weights()
    if weights is None:
        return None, None, inception.skipped_message()
    extractor = inception.InceptionExtractor(weights)
    real = frechet.FeatureStatistics()
    images, _ = data.load_arrays(dataset, REFERENCE_SPLIT, data_dir=data_dir)
    for begin in range(0, len(images), batch_size):
        real.update(extractor(to_float(images[begin : begin + batch_size])))
    fake = frechet.FeatureStatistics()
    for batch, _ in source.batches(n, seed=seed, batch_size=batch_size):
        batch, _ = prepare_images(batch, batch.shape[1:], source.name)
        fake.update(extractor(batch))
    protocol = {"definition": inception.PROTOCOL, "weights": weights, "reference_count": len(images), "n": n}
    note = None
    if n != 10_000 or len(images) != 10_000:
        note = f"Inception-FID with n={n} vs {len(images)} reference images: the Lucic et al. protocol is 10k vs 10k."
    return frechet.frechet_distance_from_statistics(fake, real), protocol, note


def reference_figures(dataset="fashion_mnist", n=DEFAULT_N, seed=DEFAULT_SEED, *, classifier=None, batch_size=DEFAULT_BATCH_SIZE, k=manifold.K, data_dir=None):
    """Figures that place a score: real train images, one repeated image, and noise.

    Each is scored like a generator against the test split:

    - `"train_vs_test"`: `n` train images (seeded subset) with their labels --
      the floor a perfect generator reaches (its conditional accuracy is the
      classifier's accuracy on them);
    - `"one_image_repeated"`: the first train image `n` times -- total mode
      collapse (recall and coverage near 0);
    - `"noise_vs_test"`: uniform noise in [-1, 1] -- the ceiling.

    Returns:
        `{name: EvaluationResult}`.

    Example:

    >>> figures = reference_figures("fashion_mnist", n=10000)
    >>> figures["train_vs_test"].metrics["fd"] < figures["noise_vs_test"].metrics["fd"]
    True
    """
    from zoo import data
    from zoo.latent import check_count
    from zoo.metrics import sources

    n = check_count(n)
    images, labels = data.load_arrays(dataset, "train", data_dir=data_dir)
    info = data.info(dataset, data_dir=data_dir)
    if n > len(images):
        raise ZooError(f"The train split of '{dataset}' holds {len(images)} images. Received: n={n}.")
    options = dict(n=n, seed=seed, classifier=classifier, batch_size=batch_size, k=k, data_dir=data_dir)
    return {
        "train_vs_test": evaluate(
            sources.ArraySource(images, labels, name=f"{dataset} train split", num_classes=info.num_classes),
            dataset,
            **options,
        ),
        "one_image_repeated": evaluate(
            sources.ArraySource(np.repeat(images[:1], n, axis=0), name=f"{dataset} train image 0 repeated"),
            dataset,
            **options,
        ),
        "noise_vs_test": evaluate(sources.NoiseSource(info.image_shape), dataset, **options),
    }


def _versions(kind):
    import keras
    import tensorflow as tf

    from zoo import __version__

    versions = {"zoo": __version__, "numpy": np.__version__, "keras": keras.__version__, "tensorflow": tf.__version__}
    if kind in ("onnx", "export"):
        import onnxruntime

        versions["onnxruntime"] = onnxruntime.__version__
    return versions


def _check_small_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ZooError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}.")
    return int(value)
