"""Latent codes and labels drawn the same way everywhere, with NumPy alone.

Keras generation, the exported artifacts' test vectors, the ONNX-only serving
runtime and the web page (`zoo/serving/static/latent.js`) all draw `z` through
the algorithm below, so one seed gives one image whatever runtime computes it.

The draw is specified to the bit, so that another language can repeat it (the
page does, in JavaScript) and so that it does not depend on the C library:
NumPy's own `standard_normal` calls `log1pf`/`exp` from libm, whose last bit
differs between C libraries. Here every step is an integer operation or an
IEEE-754 double `+ - * /` or `sqrt`, which are correctly rounded everywhere:

1. `numpy.random.PCG64(seed)` (seeded through SeedSequence, as `default_rng(seed)`)
   gives 64-bit words `w` (`random_raw`), two per pair of values.
2. `u1 = ((w0 >> 11) + 1) * 2**-53` in (0, 1], `u2 = (w1 >> 11) * 2**-53` in [0, 1).
3. Box & Muller (1958): `r = sqrt(-2 ln u1)`, `theta = 2 pi u2`, values
   `r cos(theta)` then `r sin(theta)`. `ln` is `e ln 2 + 2 atanh((m - 1) / (m + 1))`
   with `u1 = m 2**e`, `m` in [sqrt(1/2), sqrt(2)), the series to `s**23`; `cos`
   and `sin` take the quadrant `q = floor(4 u2)` and Taylor polynomials (to
   degree 24 and 23) of `phi = (4 u2 - q) pi / 2` in [0, pi / 2), in Horner form,
   in exactly the order written in `_log_cos_sin`.
4. Truncation (optional, `truncation=psi`, a double in (0, 1]): each value is
   multiplied by `psi`, one IEEE double `*`, which pulls the draw towards its
   mean 0 (the truncation trick: fewer unusual latents, more typical images).
   `psi = 1` (or `None`) leaves every bit as it is.
5. The `n * latent_dim` values, row after row, rounded to float32 (to nearest,
   ties to even): `(values * psi).astype(np.float32)` here, `Math.fround(v * psi)`
   in JavaScript.

`LATENT_ALGORITHM` names it in the ONNX and LiteRT metadata; truncation is a
parameter of the draw, not another algorithm, so it keeps the name. (Earlier
versions drew with NumPy's float32 ziggurat, whose rare tail draws depend on libm.)
"""

import numbers

import numpy as np

from zoo.checks import received
from zoo.errors import ZooError

LATENT_ALGORITHM = "pcg64-box-muller-v1"

_TWO_POW_MINUS_53 = 2.0**-53
_LN2 = 0.6931471805599453
_SQRT_HALF = 0.7071067811865476
_HALF_PI = 1.5707963267948966
# 1 / (2k + 1) for k = 1..11 (the atanh series), and the Taylor coefficients
# (-1)**k / (2k + 1)! and (-1)**k / (2k)! for sin and cos, as the doubles nearest
# to them. latent.js holds the same literals.
_ATANH = (
    0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111, 0.09090909090909091,
    0.07692307692307693, 0.06666666666666667, 0.058823529411764705, 0.05263157894736842,
    0.047619047619047616, 0.043478260869565216,
)
_SIN = (
    -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-06,
    -2.505210838544172e-08, 1.6059043836821613e-10, -7.647163731819816e-13, 2.8114572543455206e-15,
    -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23,
)
_COS = (
    -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05, -2.755731922398589e-07,
    2.08767569878681e-09, -1.1470745597729725e-11, 4.779477332387385e-14, -1.5619206968586225e-16,
    4.110317623312165e-19, -8.896791392450574e-22, 1.6117375710961184e-24,
)


def sample_latent(n, latent_dim, seed=None, truncation=None):
    """Draws `n` standard-normal latent vectors as float32 `[n, latent_dim]`.

    The draw for a seed (and truncation) is the same on every machine and in
    the web page (see the module docstring for the algorithm).

    Args:
        n: number of vectors, a positive integer.
        latent_dim: size of each vector, a positive integer.
        seed: non-negative integer seed for a reproducible draw; `None` draws
            fresh noise.
        truncation: `psi` in (0, 1], the truncation trick: the vectors are
            `psi` times the standard-normal draw, nearer the mean, which trades
            variety for typical images. `None` (or `1`) does not truncate.

    Example:

    >>> sample_latent(2, 4, seed=0).shape
    (2, 4)
    >>> bool((sample_latent(2, 4, seed=0, truncation=0.5) == sample_latent(2, 4, seed=0) / 2).all())
    True
    """
    return sample_latents([(n, seed, truncation)], latent_dim)


def sample_latents(draws, latent_dim):
    """Several draws at once: float32 `[sum of n, latent_dim]`, one block of rows per draw.

    Each `(n, seed, truncation)` of `draws` gives the rows that
    `sample_latent(n, latent_dim, seed, truncation)` gives, to the bit; drawn
    together, the series run once for all of them, so a server batching
    requests pays for one draw per batch rather than one per request.

    Args:
        draws: a sequence of `(n, seed, truncation)`, as `sample_latent` takes them.
        latent_dim: size of each vector, a positive integer.

    Example:

    >>> both = sample_latents([(1, 0, None), (2, 5, 0.7)], latent_dim=4)
    >>> bool((both[1:] == sample_latent(2, 4, seed=5, truncation=0.7)).all())
    True
    """
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, numbers.Integral) or latent_dim < 1:
        raise ZooError(f"latent_dim must be a positive integer. Received: latent_dim={latent_dim!r}.")
    latent_dim = int(latent_dim)
    blocks, words = [], []
    for n, seed, truncation in draws:
        n = check_count(n)
        pairs = (n * latent_dim + 1) // 2
        words.append(np.random.PCG64(check_seed(seed)).random_raw(2 * pairs))  # default_rng(seed)'s stream
        blocks.append((n, pairs, check_truncation(truncation)))
    if not blocks:
        raise ZooError("Nothing to draw. Received: draws=[]. Pass at least one (n, seed, truncation).")
    words = (words[0] if len(words) == 1 else np.concatenate(words)).reshape(-1, 2)
    words >>= np.uint64(11)
    u1 = (words[:, 0] + np.uint64(1)).astype(np.float64)
    u1 *= _TWO_POW_MINUS_53
    u2 = words[:, 1].astype(np.float64)
    u2 *= _TWO_POW_MINUS_53
    log_u1, cosine, sine = _log_cos_sin(u1, u2)
    radius = np.sqrt(-2.0 * log_u1)
    values = np.empty((len(u1), 2), np.float64)
    np.multiply(radius, cosine, out=values[:, 0])
    np.multiply(radius, sine, out=values[:, 1])
    values = values.reshape(-1)
    latents = np.empty((sum(n for n, _, _ in blocks), latent_dim), np.float32)
    row = start = 0
    for n, pairs, psi in blocks:
        block = values[start : start + n * latent_dim]
        if psi is not None:
            block = block * psi  # in float64, before the one rounding to float32
        latents[row : row + n] = block.reshape(n, latent_dim)  # rounds to float32 (to nearest, ties to even)
        row, start = row + n, start + 2 * pairs
    return latents


def check_seed(seed):
    """Returns `seed` as an int (or `None`) after checking it is a non-negative integer."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ZooError(f"seed must be an integer. Received: seed={seed!r}.")
    if seed < 0:
        raise ZooError(f"seed must be a non-negative integer. Received: seed={seed}.")
    return int(seed)


def check_truncation(truncation, name="truncation"):
    """Returns the truncation `psi` as a float (or `None`) after checking it is a number in (0, 1].

    Args:
        truncation: the value given; `None` means no truncation.
        name: the argument as the user gave it (`"truncation"` or `"--truncation"`).

    Example:

    >>> check_truncation(1.5)
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: truncation must be a number in (0, 1]. Received: truncation=1.5. Use 1 (or None) for no truncation.
    """
    if truncation is None:
        return None
    if (
        isinstance(truncation, bool)
        or not isinstance(truncation, numbers.Real)
        or not 0.0 < float(truncation) <= 1.0  # also refuses NaN
    ):
        raise ZooError(
            f"{name} must be a number in (0, 1]. Received: {received(name, truncation)}. "
            + ("Use 1 (or leave it out) for no truncation." if name.startswith("-") else "Use 1 (or None) for no truncation.")
        )
    return float(truncation)


# The three series (atanh for ln, sin and cos) as one table, highest power first.
# The shorter two start with zeros: Horner's `0 * x + c` is exactly `c`, so the
# packed evaluation below gives each series the bits of its own Horner loop.
_SERIES = np.array(
    [(0.0,) * (len(_COS) - len(_ATANH)) + _ATANH[::-1],
     (0.0,) * (len(_COS) - len(_SIN)) + _SIN[::-1],
     _COS[::-1]],
    dtype=np.float64,
)
_COS_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # by quadrant of theta
_SIN_SIGNS = np.array([1.0, 1.0, -1.0, -1.0])
_SERIES_COLUMNS = tuple(_SERIES[:, column : column + 1] for column in range(_SERIES.shape[1]))


def _log_cos_sin(u1, u2):
    """`(ln u1, cos(2 pi u2), sin(2 pi u2))` for doubles `u1` in (0, 1] and `u2` in [0, 1).

    With `+ - * /` only (exact `frexp` and `floor` aside), each series in Horner
    form. The three series run side by side as the rows of one array: a third of
    the NumPy calls of three loops, and not one bit different (each element sees
    the same operations in the same order).
    """
    # ln u1 = e ln 2 + 2 atanh(s), s = (m - 1) / (m + 1), u1 = m 2**e, m in [sqrt(1/2), sqrt(2)).
    mantissa, exponent = np.frexp(u1)  # mantissa in [0.5, 1)
    low = mantissa < _SQRT_HALF
    mantissa *= 1.0 + low  # times 2 where low (exact)
    exponent -= low
    s = (mantissa - 1.0) / (mantissa + 1.0)
    # theta = 2 pi u2: quadrant q = floor(4 u2), phi = (4 u2 - q) pi / 2 in [0, pi / 2).
    quarter = u2 * 4.0  # exact
    quadrant = np.floor(quarter)
    phi = (quarter - quadrant) * _HALF_PI
    x = np.empty((3, len(u1)), np.float64)
    np.multiply(s, s, out=x[0])
    np.multiply(phi, phi, out=x[1])
    x[2] = x[1]
    series = np.repeat(_SERIES_COLUMNS[0], len(u1), axis=1)
    for coefficients in _SERIES_COLUMNS[1:]:
        series *= x
        series += coefficients
    s2, p2 = x[0], x[1]
    log_u1 = exponent.astype(np.float64) * _LN2 + 2.0 * (s + s * (s2 * series[0]))
    sin_phi = phi + phi * (p2 * series[1])
    cos_phi = 1.0 + p2 * series[2]
    # (cos, sin) of theta by quadrant: (c, s), (-s, c), (-c, -s), (s, -c); the signs are exact.
    quadrant = quadrant.astype(np.intp)
    swap = (quadrant & 1).astype(bool)
    cosine = np.where(swap, sin_phi, cos_phi)
    cosine *= _COS_SIGNS[quadrant]
    sine = np.where(swap, cos_phi, sin_phi)
    sine *= _SIN_SIGNS[quadrant]
    return log_u1, cosine, sine


def check_count(n, maximum=None):
    """Returns `n` as an int after checking it is a positive integer."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ZooError(
            f"The number of images must be a positive integer. Received: n={n!r}."
        )
    if maximum is not None and n > maximum:
        raise ZooError(
            f"Too many images requested. Received: n={n}. Allowed: 1..{maximum}."
        )
    return int(n)


def check_labels(labels, n, num_classes):
    """Validates class labels for a batch of `n` and returns them as int64 `[n]`.

    Args:
        labels: an int (used for every image) or a sequence of `n` ints.
        n: batch size.
        num_classes: number of classes of the conditional model, or `None` for
            an unconditional one, which accepts no labels.

    Example:

    >>> check_labels(3, 2, num_classes=10)
    array([3, 3])
    """
    if num_classes is None:
        if labels is not None:
            raise ZooError(
                "This model is unconditional and takes no labels. "
                "Received: labels. Drop the labels or use a conditional variant."
            )
        return None
    if labels is None:
        raise ZooError(
            f"This model is conditional: pass labels (ints in 0..{num_classes - 1}), "
            f"one per image or a single int for all. Received: labels=None."
        )
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    if array.dtype.kind == "f" and array.size and np.all(np.mod(array, 1) == 0):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ZooError(
            f"labels must be integers. Received: labels of dtype {array.dtype}. "
            f"Pass ints in 0..{num_classes - 1}."
        )
    if array.ndim != 1 or array.shape[0] != n:
        raise ZooError(
            f"Expected one label per image ({n}). Received: labels of shape "
            f"{tuple(array.shape)}."
        )
    bad = array[(array < 0) | (array >= num_classes)]
    if bad.size:
        raise ZooError(
            f"Label out of range. Received: label={int(bad[0])}. "
            f"Allowed: 0..{num_classes - 1}."
        )
    return array.astype(np.int64)
