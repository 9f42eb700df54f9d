"""The metrics of a publication: measured on its folder, stored without machine paths.

Example:

>>> evaluation = evaluate_folder(folder, "fashion_mnist", n=10_000, seed=0)
>>> card_evaluation = portable_evaluation(evaluation, folder, "dcgan-fashion-mnist", root)
"""

import os

from zoo import paths

DEFAULT_N_EVAL = 10_000


def evaluate_folder(folder, dataset, n, seed):
    """Scores the artifact in `folder` with `zoo.metrics` (None if the package is missing)."""
    try:
        from zoo.metrics import evaluate
    except ImportError:
        return None
    return evaluate(folder, dataset, n=n, seed=seed).to_dict()


def portable_evaluation(evaluation, folder, name, root):
    """`evaluation` with no temporary or machine-specific paths, as the card stores it."""
    replacements = {folder: f"export/{name}", root.rstrip(os.sep) + os.sep: ""}
    checkout = paths.checkout_root()
    if checkout is not None:
        replacements[os.fspath(checkout) + os.sep] = ""
    return _replace_strings(evaluation, replacements)


def _replace_strings(value, replacements):
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _replace_strings(item, replacements) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_strings(item, replacements) for item in value]
    return value
