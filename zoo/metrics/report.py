"""Readable tables of evaluation results (the JSON form is `result.to_dict()`)."""

import json

from zoo.files import json_default

# (key, label, better, std key)
ROWS = (
    ("fd", "Fréchet distance (classifier features)", "lower", None),
    ("kid", "KID (x 10^3)", "lower", "kid_std"),
    ("classifier_score", "classifier score", "higher", "classifier_score_std"),
    ("precision", "precision (k=5)", "higher", None),
    ("recall", "recall (k=5)", "higher", None),
    ("density", "density (k=5)", "higher ~1", None),
    ("coverage", "coverage (k=5)", "higher", None),
    ("conditional_accuracy", "conditional accuracy", "higher", None),
    ("inception_fid", "Inception-FID", "lower", None),
)


def _value(metrics, key, std_key):
    value = metrics.get(key)
    if value is None:
        return "-"
    scale = 1000.0 if key == "kid" else 1.0
    text = f"{value * scale:.4g}" if abs(value * scale) >= 1e-3 or value == 0 else f"{value * scale:.2e}"
    if std_key and metrics.get(std_key) is not None:
        text += f" ± {metrics[std_key] * scale:.2g}"
    return text


def format_result(result):
    """Formats one `EvaluationResult` as an aligned text table."""
    protocol = result.protocol
    header = ["metric", "value", "better"]
    rows = []
    for key, label, better, std_key in ROWS:
        if key == "inception_fid" and result.metrics.get(key) is None:
            continue
        rows.append([label, _value(result.metrics, key, std_key), better])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        f"{result.source.get('name')} ({result.source.get('kind')}) vs {protocol['dataset']} "
        f"{protocol['reference_split']} split ({protocol['reference_count']} images), n={protocol['n']}, seed={protocol['seed']}",
        "",
        "  ".join(cell.ljust(width) for cell, width in zip(header, widths)),
        "  ".join("-" * width for width in widths),
    ]
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows]
    histogram = result.class_histogram
    lines += ["", "predicted classes: " + ", ".join(f"{name} {count}" for name, count in zip(histogram["class_names"], histogram["counts"]))]
    classifier = protocol["classifier"]
    lines += [
        f"classifier: {classifier['path']} (sha256 {classifier['sha256'][:16]}..., "
        f"test accuracy {classifier.get('test_accuracy')}), {protocol['features']}",
        f"k-NN metrics on {protocol['knn']['samples']} samples vs {protocol['knn']['reference']} reference images; "
        f"resize: {protocol['resize']}",
    ]
    runtime = result.runtime
    lines.append(
        f"runtime: {runtime['total']:.1f} s (generate {runtime['generate']:.1f} s, features {runtime['features']:.1f} s, "
        f"metrics {runtime['metrics']:.1f} s, reference {runtime['reference']:.1f} s)"
    )
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def format_references(figures):
    """Formats `reference_figures()` as one table, a column per figure."""
    rows = []
    names = list(figures)
    header = ["metric", *names, "better"]
    first = figures[names[0]]
    for key, label, better, std_key in ROWS:
        if key == "inception_fid":
            continue
        rows.append([label, *(_value(figures[name].metrics, key, std_key) for name in names), better])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    protocol = first.protocol
    lines = [
        f"reference figures vs {protocol['dataset']} {protocol['reference_split']} split "
        f"({protocol['reference_count']} images), n={protocol['n']}, seed={protocol['seed']}, "
        f"classifier sha256 {protocol['classifier']['sha256'][:16]}...",
        "",
        "  ".join(cell.ljust(width) for cell, width in zip(header, widths)),
        "  ".join("-" * width for width in widths),
    ]
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def to_json(value):
    """JSON text of a result dict (NaN/inf refused, as JSON readers expect)."""
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False, default=json_default)
