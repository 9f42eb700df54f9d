"""Range checks of the numbers users give, with the zoo's one-line errors.

Used by `zoo.training.train`, the command line and `zoo.files`' path checks, so
that every number has a range and every error says what was received.

Example:

>>> check_int("--epochs", 0, 1)
Traceback (most recent call last):
...
zoo.errors.ZooError: --epochs must be a positive integer. Received: --epochs 0.
"""

import math
import numbers

from zoo.errors import ZooError

MAX_SEED = 2**32 - 1
"""Largest seed (seeds are 0..2**32-1, NumPy's range)."""


def received(name, value):
    """`--flag value` for a CLI flag, `name=value` for a Python argument: the "Received:" part of an error."""
    return f"{name} {value!r}" if name.startswith("--") else f"{name}={value!r}"


def check_int(name, value, minimum, maximum=None, optional=False):
    """Checks that `value` is an integer in `minimum..maximum` and returns it.

    Args:
        name: the argument as the user gave it (`"epochs"` or `"--epochs"`).
        value: the value.
        minimum: smallest allowed value.
        maximum: largest allowed value. Defaults to `None` (no limit).
        optional: accept `None`. Defaults to `False`.

    Example:

    >>> check_int("epochs", 0, 1)
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: epochs must be a positive integer. Received: epochs=0.
    """
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        if maximum is not None:
            allowed = f"an integer in {minimum}..{maximum}"
        elif minimum == 1:
            allowed = "a positive integer"
        elif minimum == 0:
            allowed = "a non-negative integer (0 or more)"
        else:
            allowed = f"an integer >= {minimum}"
        raise ZooError(f"{name} must be {allowed}. Received: {received(name, value)}.")
    return int(value)


def check_seed(name, value, optional=False):
    """Checks that a seed is an integer in `0..MAX_SEED` and returns it."""
    return check_int(name, value, 0, MAX_SEED, optional=optional)


def check_number(name, value, minimum, optional=False):
    """Checks that `value` is a finite number >= `minimum` and returns it as a float."""
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < minimum
    ):
        raise ZooError(f"{name} must be a finite number >= {minimum:g}. Received: {received(name, value)}.")
    return float(value)


def check_latent_dim(latent_dim):
    """Returns `latent_dim` as an int after checking it is a positive integer."""
    return check_int("latent_dim", latent_dim, 1)


def check_num_classes(num_classes):
    """Returns `num_classes` (`None` or an int >= 2) after checking it."""
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ZooError(
            "num_classes must be an integer >= 2 (or None for an unconditional "
            f"model). Received: num_classes={num_classes!r}."
        )
    return int(num_classes)
