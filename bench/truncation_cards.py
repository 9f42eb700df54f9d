"""Precision and recall against truncation `psi` for every published generator, drawn into its model card.

For each `models/<name>/` with an `export/<name>/` this runs
`zoo.metrics.truncation_sweep` on the published ONNX generator, draws
`models/<name>/truncation.png` (matplotlib, the `bench` extra), stores the sweep
under `metrics.truncation` in `card.json` and re-renders the card's README. The
weights and the export are not touched (nothing is republished).

Usage:
    python bench/truncation_cards.py                       # every published generator
    python bench/truncation_cards.py --names dcgan-fashion-mnist --n 5000 --psis 0.5 0.7 0.85 1
"""

import argparse
import io
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def draw_sweep(sweep, title):
    """The PNG bytes of precision, recall and coverage against `psi`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    psis = [row["psi"] for row in sweep["rows"]]
    figure, axes = plt.subplots(figsize=(4.5, 3.2), dpi=120)
    for key, marker in (("precision", "o"), ("recall", "s"), ("coverage", "^")):
        axes.plot(psis, [row[key] for row in sweep["rows"]], marker=marker, label=key)
    axes.set_xlabel("truncation psi (1 = none)")
    axes.set_ylim(0, 1)
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def update_card(name, psis, n, seed):
    from zoo.files import write_bytes_atomically
    from zoo.metrics.truncation import truncation_sweep
    from zoo.publish.artifact import check_sizes
    from zoo.publish.card import render_readme
    from zoo.publish.catalogue import json_bytes

    model_dir = os.path.join(REPO, "models", name)
    export_dir = os.path.join(REPO, "export", name)
    with open(os.path.join(model_dir, "card.json"), encoding="utf-8") as file:
        card = json.load(file)
    sweep = truncation_sweep(f"export/{name}", dataset=card["dataset"], psis=psis, n=n, seed=seed)
    sweep["plot"] = "truncation.png"
    card["metrics"]["truncation"] = sweep
    sizes, _ = check_sizes(export_dir, os.path.join(REPO, "export"), name)
    readme = render_readme(card, sizes)
    write_bytes_atomically(os.path.join(model_dir, "truncation.png"), draw_sweep(sweep, name))
    write_bytes_atomically(os.path.join(model_dir, "card.json"), json_bytes(card))
    write_bytes_atomically(os.path.join(model_dir, "README.md"), readme.encode("utf-8"))
    return sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="*", help="published names (default: all with an export folder)")
    parser.add_argument("--psis", type=float, nargs="+", default=[0.5, 0.7, 0.85, 1.0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.chdir(REPO)
    names = args.names or sorted(
        name for name in os.listdir(os.path.join(REPO, "models")) if os.path.isdir(os.path.join(REPO, "export", name))
    )
    for name in names:
        sweep = update_card(name, args.psis, args.n, args.seed)
        print(name, json.dumps(sweep["rows"]), flush=True)
    from zoo.publish.catalogue import rebuild_catalogue

    rebuild_catalogue(REPO)


if __name__ == "__main__":
    sys.exit(main())
