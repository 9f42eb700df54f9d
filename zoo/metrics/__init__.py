"""Sample-quality metrics for generators, measured the way GAN papers do.

All metrics look at images through a domain classifier trained by the zoo on
the data set (`zoo train-classifier`), published with its sha256 so two users
get the same numbers, and compare `n` samples with the data set's test split:

- `fd`: Fréchet distance of the classifier's 128-d features (FID's formula);
- `kid`: kernel distance, unbiased MMD^2 with a cubic kernel;
- `classifier_score`: the Inception Score with the domain classifier;
- `precision`, `recall` (Kynkäänniemi 2019), `density`, `coverage`
  (Naeem 2020), with k = 5 nearest neighbours;
- `conditional_accuracy`: for conditional models, how often the classifier
  sees the class that was asked for; plus the histogram of predicted classes;
- `inception_fid`: on request, only if Keras' ImageNet InceptionV3 weights are
  already in the local cache (never downloaded).

Importing `zoo.metrics` is cheap; TensorFlow loads on first use.

Example:

>>> import zoo.metrics
>>> result = zoo.metrics.evaluate("runs/dcgan/model.keras", "fashion_mnist", n=10000, seed=0)
>>> result.metrics["fd"], result.metrics["recall"]
>>> print(result)                       # a table; result.to_dict() for JSON
>>> figures = zoo.metrics.reference_figures("fashion_mnist")   # train vs test, noise
"""

from zoo.lazy import lazy_exports

_EXPORTS = {
    "evaluate": "zoo.metrics.evaluation",
    "reference_figures": "zoo.metrics.evaluation",
    "EvaluationResult": "zoo.metrics.evaluation",
    "Evaluate": "zoo.metrics.callback",
    "truncation_sweep": "zoo.metrics.truncation",
    "frechet_distance": "zoo.metrics.frechet",
    "FeatureStatistics": "zoo.metrics.frechet",
    "kernel_distance": "zoo.metrics.kid",
    "precision_recall_density_coverage": "zoo.metrics.manifold",
    "classifier_score": "zoo.metrics.scores",
    "conditional_accuracy": "zoo.metrics.scores",
    "class_histogram": "zoo.metrics.scores",
    "build_classifier": "zoo.metrics.classifier",
    "train_classifier": "zoo.metrics.classifier",
    "FeatureExtractor": "zoo.metrics.classifier",
    "find_classifier": "zoo.metrics.published",
    "load_classifier": "zoo.metrics.published",
    "publish_classifier": "zoo.metrics.published",
    "open_source": "zoo.metrics.sources",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
