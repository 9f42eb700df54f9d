"""Published domain classifiers: found by data set, verified by sha256, loaded once.

A published classifier is a folder

    export/classifiers/<dataset>/
      classifier.keras    the model (see `zoo.metrics.classifier`)
      classifier.json     sha256, size, test accuracy, data set, seed, command, ...

Two users with the same file get the same numbers, so the file is checked
against the sha256 in `classifier.json` before every first use in a process; a
mismatch is a one-line `ZooError`.

Folders searched for `<dataset>/`, in order: the `ZOO_CLASSIFIERS_DIR`
environment variable, then `export/classifiers/` of the source checkout that
holds this package.
"""

import dataclasses
import json
import os

from zoo import paths, settings
from zoo.errors import ZooError
from zoo.files import atomic_path, sha256_file, write_bytes_atomically

MODEL_FILE = "classifier.keras"
INFO_FILE = "classifier.json"
ENV_DIR = settings.CLASSIFIERS_DIR
FORMAT_VERSION = 1

_LOADED = {}  # sha256 -> keras.Model


@dataclasses.dataclass(frozen=True)
class ClassifierInfo:
    """A located and verified classifier file.

    Attributes:
        path: absolute path of the `.keras` file.
        sha256: its sha256 (checked against `classifier.json` when there is one).
        size: its size in bytes.
        verified: whether a `classifier.json` vouched for the sha256.
        facts: the contents of `classifier.json` (`{}` without one).
    """

    path: str
    sha256: str
    size: int
    verified: bool
    facts: dict

    @property
    def dataset(self):
        return self.facts.get("dataset")

    @property
    def test_accuracy(self):
        return self.facts.get("test_accuracy")

    def describe(self):
        """The classifier's part of an evaluation protocol (JSON-ready)."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "verified": self.verified,
            "dataset": self.dataset,
            "test_accuracy": self.test_accuracy,
            "feature_layer": self.facts.get("feature_layer", "features"),
        }


def search_dirs():
    """The folders searched for `<dataset>/classifier.keras`, in order."""
    folders = []
    env_dir = settings.classifiers_dir()
    if env_dir is not None:
        folders.append(env_dir)
    checkout = paths.checkout_root()
    if checkout is not None:
        folders.append(os.path.join(checkout, "export", "classifiers"))
    return folders


def find_classifier(dataset=None, path=None):
    """Locates and verifies the classifier for `dataset` (or at `path`).

    Args:
        dataset: data set name, e.g. `"fashion_mnist"`; used when `path` is
            `None`.
        path: a `classifier.keras` file or a folder holding one (with its
            `classifier.json`). Defaults to the published one of `dataset`.

    Returns:
        A `ClassifierInfo`.

    Example:

    >>> find_classifier("fashion_mnist").sha256[:12]
    '3f0c...'
    """
    if path is None:
        if dataset is None:
            raise ZooError("Pass a data set name or a classifier path. Received: dataset=None, path=None.")
        name = os.path.basename(os.path.normpath(os.fspath(dataset)))
        candidates = [os.path.join(folder, name, MODEL_FILE) for folder in search_dirs()]
        found = next((candidate for candidate in candidates if os.path.isfile(candidate)), None)
        if found is None:
            looked = ", ".join(os.path.dirname(c) for c in candidates) or "no folder (no ZOO_CLASSIFIERS_DIR, no checkout)"
            raise ZooError(
                f"No published classifier for data set '{name}'. Looked in: {looked}. Train one with "
                f"`zoo train-classifier {name} --out export/classifiers/{name}`, or pass --classifier PATH."
            )
        path = found
    path = os.path.abspath(os.fspath(path))
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_FILE)
    if not os.path.isfile(path):
        raise ZooError(f"No such classifier file: {path}. Pass a classifier.keras or its folder.")
    digest = sha256_file(path)
    facts = read_facts(os.path.dirname(path))
    if facts and facts.get("sha256") != digest:
        raise ZooError(
            f"{path} does not match the sha256 in {INFO_FILE} (expected {facts.get('sha256')}, "
            f"found {digest}); metrics from it would not be comparable. Restore the published file "
            "or re-publish it with `zoo train-classifier`."
        )
    return ClassifierInfo(path=path, sha256=digest, size=os.path.getsize(path), verified=bool(facts), facts=facts)


def read_facts(folder):
    """Returns the `classifier.json` of `folder` as a dict, `{}` if absent."""
    info_path = os.path.join(folder, INFO_FILE)
    if not os.path.isfile(info_path):
        return {}
    try:
        with open(info_path, encoding="utf-8") as file:
            facts = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{info_path} is not valid JSON ({error}).") from error
    if not isinstance(facts, dict) or not isinstance(facts.get("sha256"), str):
        raise ZooError(f"{info_path} has no 'sha256' string; it is not a zoo classifier description.")
    return facts


def load_classifier(info):
    """Loads the verified classifier of a `ClassifierInfo`, once per process."""
    if info.sha256 not in _LOADED:
        import keras

        try:
            model = keras.saving.load_model(info.path, compile=False)
        except Exception as error:  # Keras raises many types for a foreign file.
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ZooError(f"Could not load the classifier {info.path} ({first[:200]}).") from error
        _LOADED[info.sha256] = model
    return _LOADED[info.sha256]


def publish_classifier(model, facts, out, command=None, force=False):
    """Writes `classifier.keras` and `classifier.json` into the folder `out`.

    Args:
        model: the trained classifier.
        facts: the training facts (from `train_classifier`).
        out: the folder, e.g. `export/classifiers/fashion_mnist`.
        command: the command line that trained it, recorded for reproduction.
        force: replace an existing classifier in `out`. Defaults to `False`.

    Returns:
        The `ClassifierInfo` of the written file.
    """
    import keras
    import numpy
    import tensorflow as tf

    from zoo import __version__
    from zoo.metrics.classifier import FEATURE_LAYER, LOGITS_LAYER, MIN_TEST_ACCURACY

    out = os.path.abspath(os.fspath(out))
    model_path = os.path.join(out, MODEL_FILE)
    if os.path.exists(model_path) and not force:
        raise ZooError(f"{model_path} already exists. Pass --force to replace it.")
    os.makedirs(out, exist_ok=True)
    with atomic_path(model_path) as temporary:
        model.save(temporary)
    os.chmod(model_path, 0o644)  # a published file, readable by all (mkstemp makes it 0600)
    description = {
        "format_version": FORMAT_VERSION,
        "file": MODEL_FILE,
        "sha256": sha256_file(model_path),
        "size": os.path.getsize(model_path),
        **facts,
        "test_split": "test",
        "min_test_accuracy": MIN_TEST_ACCURACY.get(facts.get("dataset")),
        "feature_layer": FEATURE_LAYER,
        "feature_dim": int(model.get_layer(FEATURE_LAYER).output.shape[-1]),
        "logits_layer": LOGITS_LAYER,
        "input_range": [-1.0, 1.0],
        "command": command,
        "versions": {"zoo": __version__, "keras": keras.__version__, "tensorflow": tf.__version__, "numpy": numpy.__version__},
    }
    text = json.dumps(description, indent=2, sort_keys=True) + "\n"
    write_bytes_atomically(os.path.join(out, INFO_FILE), text.encode("utf-8"))
    os.chmod(os.path.join(out, INFO_FILE), 0o644)
    return find_classifier(path=model_path)
