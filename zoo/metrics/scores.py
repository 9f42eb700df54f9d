"""Metrics on the classifier's predictions: score, accuracy, class histogram.

- The classifier score is the Inception Score (Salimans et al. 2016) with the
  domain classifier in Inception's place:
  `exp(E_x KL(p(y|x) || p(y)))`, computed on `splits` equal parts of the sample
  and reported as mean and std over the parts (10 parts, as in the IS paper).
  It is high (up to `num_classes`) when each image is classified confidently and
  the classes are balanced.
- Conditional accuracy: share of generated images that the classifier assigns
  to the label the generator was asked for.
- The histogram of predicted classes shows dropped or over-produced modes.
"""

import numpy as np

from zoo.errors import ZooError

SPLITS = 10
_EPS = 1e-12


def classifier_score(probabilities, splits=SPLITS):
    """Inception-Score analogue of `[n, num_classes]` class probabilities.

    Args:
        probabilities: softmax outputs of the classifier, one row per image.
        splits: number of equal parts the score is computed on. Capped at
            `n`. Defaults to `10`.

    Returns:
        `(mean, std)` over the parts.

    Example:

    >>> classifier_score(np.eye(10)[np.arange(1000) % 10])[0]
    10.0
    """
    probabilities = np.asarray(probabilities, np.float64)
    splits = max(1, min(splits, len(probabilities)))
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + _EPS) - np.log(marginal + _EPS)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def predicted_classes(probabilities):
    """Top-1 class of each row, int64 `[n]`."""
    return np.argmax(np.asarray(probabilities), axis=1)


def conditional_accuracy(probabilities, labels):
    """Share of images whose predicted class is the requested `labels`."""
    labels = np.asarray(labels)
    if labels.shape != (len(probabilities),):
        raise ZooError(
            f"Expected one label per image ({len(probabilities)}). Received: labels of shape {labels.shape}."
        )
    return float(np.mean(predicted_classes(probabilities) == labels))


def class_histogram(probabilities, num_classes=None):
    """Counts of predicted classes, int `[num_classes]`."""
    probabilities = np.asarray(probabilities)
    num_classes = probabilities.shape[1] if num_classes is None else num_classes
    return np.bincount(predicted_classes(probabilities), minlength=num_classes)
