"""`zoo list`: the registered variants (from their records); `zoo list --pretrained`: the published generators."""

import sys

# Metrics shown in the `--pretrained` table, in this order, when the entry has them.
SUMMARY_METRICS = (("fd", "FD"), ("precision", "P"), ("recall", "R"), ("conditional_accuracy", "cond.acc"))


def register(subparsers):
    parser = subparsers.add_parser("list", help="list the GAN variants (or, with --pretrained, the published generators)")
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="list the published generators: name, variant, data set, metrics, file sizes",
    )
    parser.set_defaults(handler=run)


def run(args):
    if getattr(args, "pretrained", False):
        return run_pretrained()
    from zoo import registry

    rows = [
        (
            record.name,
            "conditional" if record.conditional else "unconditional",
            record.summary,
            ", ".join(url or title for title, url in record.reference_links()),
        )
        for record in registry.variant_records()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths + [0])).rstrip())
    return 0


def run_pretrained():
    from zoo import hub

    catalogue = hub.load_catalogue()
    entries = list(catalogue)
    if not entries:
        print(f"No pretrained generators are published yet (catalogue: {catalogue.path}).")
        return 0
    header = ("name", "variant", "dataset", "classes", "metrics", "keras", "onnx", "savedmodel")
    rows = [header]
    for entry in entries:
        rows.append(
            (
                entry.name,
                entry.variant,
                entry.dataset,
                str(entry.num_classes or "-"),
                metrics_cell(entry.metrics),
                *(
                    megabytes(entry.sizes[name]) if name in entry.sizes else "built on download"
                    for name in ("keras", "onnx", "savedmodel")
                ),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    hint = hub.sources.missing_source_message()
    if hint is not None:
        print(hint, file=sys.stderr)
    return 0


def metrics_cell(metrics):
    """The `--pretrained` table's metrics cell: `"FD 12.3, P 0.71, R 0.52 (n=10000)"`, or `"not measured"`."""
    parts = [
        f"{label} {metrics[key]:.3g}"
        for key, label in SUMMARY_METRICS
        if isinstance(metrics.get(key), (int, float))
    ]
    if not parts:
        return "not measured"
    suffix = f" (n={metrics['n']})" if metrics.get("n") else ""
    return ", ".join(parts) + suffix


def megabytes(size):
    return f"{size / 1e6:.1f} MB"
