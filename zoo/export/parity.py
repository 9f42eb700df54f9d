"""The parity gate: every exported format must compute what Keras computes.

Inputs are fixed and random: in each batch the first latent row is all zeros,
the second a fixed ramp from -3 to 3, the rest drawn by `zoo.latent.sample_latent`
with a seed per batch size; labels cycle through the classes (an extra batch of
one row per class is added when a batch of the requested sizes cannot hold every
class). Outputs must agree in shape, dtype (float32) and value within
`|actual - expected| <= ATOL + RTOL * |expected|`.
"""

import dataclasses

import numpy as np

from zoo.record import LABEL_NAME, LATENT_NAME
from zoo.latent import sample_latent

ATOL = 1e-5
RTOL = 1e-5
REL_FLOOR = 1e-3


@dataclasses.dataclass
class ParityRow:
    """The comparison of one format with the Keras reference at one batch size.

    Attributes:
        format: `"savedmodel"`, `"onnxruntime"`, `"keras (reloaded)"`, or a
            reduced-precision ONNX file such as `"onnxruntime fp16"`.
        batch_size: rows in the batch.
        max_abs: largest absolute error.
        max_rel: largest relative error `|a - e| / |e|` over the elements
            with `|e| >= 1e-3` (relative error is meaningless near zero).
        passed: whether shape, dtype and values agree within tolerance.
        gated: whether this row decides the export (reduced precision rows are
            reported only).
        problem: what went wrong, if not `passed`.
    """

    format: str
    batch_size: int
    max_abs: float
    max_rel: float
    passed: bool
    gated: bool = True
    problem: str = ""


def parity_cases(record, batch_sizes=(1, 7, 64), seed=0):
    """Returns `[(batch_size, feeds)]`, feeds by port name (z float32, label int64).

    Args:
        record: the generator's `GeneratorRecord`.
        batch_sizes: the batch sizes to check.
        seed: seed of the first batch (each next batch adds one).

    Example:

    >>> [(b, feeds["z"].shape) for b, feeds in parity_cases(info.record, (1, 7))]
    [(1, (1, 64)), (7, (7, 64))]
    """
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or any(b < 1 for b in batch_sizes):
        from zoo.errors import ZooError

        raise ZooError(
            f"batch_sizes must be positive integers. Received: batch_sizes={batch_sizes!r}."
        )
    cases = [(b, make_feeds(record, b, seed + index)) for index, b in enumerate(batch_sizes)]
    if record.conditional and max(batch_sizes) < record.num_classes:
        cases.append((record.num_classes, make_feeds(record, record.num_classes, seed + len(cases))))
    return cases


def make_feeds(record, batch_size, seed):
    """One batch of fixed and random inputs for the generator `record` describes."""
    z = sample_latent(batch_size, record.latent_dim, seed)
    z[0] = 0.0
    if batch_size > 1:
        z[1] = np.linspace(-3.0, 3.0, record.latent_dim, dtype=np.float32)
    feeds = {LATENT_NAME: z}
    if record.conditional:
        feeds[LABEL_NAME] = (np.arange(batch_size, dtype=np.int64) + seed) % record.num_classes
    return feeds


def compare(name, actual, expected, batch_size, atol=ATOL, rtol=RTOL, gated=True):
    """Compares one output with the reference and returns a `ParityRow`."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    problem = ""
    if actual.shape != expected.shape:
        problem = f"shape {actual.shape} != expected {expected.shape}"
    elif actual.dtype != np.float32:
        problem = f"dtype {actual.dtype} != float32"
    if problem:
        return ParityRow(name, batch_size, float("inf"), float("inf"), False, gated, problem)
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    magnitude = np.abs(expected.astype(np.float64))
    max_abs = float(error.max()) if error.size else 0.0
    meaningful = magnitude >= REL_FLOOR
    max_rel = float((error[meaningful] / magnitude[meaningful]).max()) if meaningful.any() else 0.0
    finite = bool(np.isfinite(actual).all())
    passed = finite and bool((error <= atol + rtol * magnitude).all())
    if not finite:
        problem = "non-finite values"
    elif not passed:
        problem = f"max abs error {max_abs:.3g} exceeds atol={atol:g}, rtol={rtol:g}"
    return ParityRow(name, batch_size, max_abs, max_rel, passed, gated, problem)


def merge(rows):
    """Folds rows of the same format and batch size (e.g. extra cases) into one."""
    merged = {}
    for row in rows:
        key = (row.format, row.batch_size)
        if key not in merged:
            merged[key] = row
            continue
        old = merged[key]
        merged[key] = ParityRow(
            row.format,
            row.batch_size,
            max(old.max_abs, row.max_abs),
            max(old.max_rel, row.max_rel),
            old.passed and row.passed,
            row.gated,
            old.problem or row.problem,
        )
    return list(merged.values())


def format_table(rows, title=None):
    """Renders rows as a plain-text table."""
    header = ("format", "batch", "max abs err", "max rel err", "result")
    lines = []
    body = [
        (
            row.format,
            str(row.batch_size),
            f"{row.max_abs:.2e}",
            f"{row.max_rel:.2e}",
            ("ok" if row.passed else f"FAIL: {row.problem}") if row.gated else "(reported)",
        )
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body)]
    if title:
        lines.append(title)
    lines.append("  ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip())
    lines.append("  ".join("-" * width for width in widths))
    for cells in body:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())
    return "\n".join(lines)
