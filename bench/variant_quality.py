"""Sample quality of every variant after the same wall-clock training budget.

Each variant trains on the real Fashion-MNIST for `--minutes` (one after the
other, each with the whole machine), from its published recipe in `models/`
when there is one (`<variant>-fashion-mnist`, with `-` for `_`), else from the
variant's own defaults with batch 64, latent_dim 64 and generator EMA 0.999.
Each run is then scored by `zoo.metrics.evaluate` (10k samples vs the test
split, the published domain classifier); conditional variants draw equal
numbers of every class and also report conditional accuracy.

Usage:
    python bench/variant_quality.py --minutes 9 --variants lsgan projection_cgan --out runs/variants
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import zoo  # noqa: E402
import zoo.metrics  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = ("fd", "kid", "precision", "recall", "density", "coverage", "conditional_accuracy")
DEFAULT_SETTINGS = {
    "dataset": "fashion_mnist",
    "batch_size": 64,
    "variant_config": {"latent_dim": 64, "ema_decay": 0.999},
}


def settings_for(variant, minutes, seed):
    """Training keyword arguments: the published recipe if any, else defaults."""
    from zoo.recipes import load_recipe

    recipe = os.path.join(REPO, "models", f"{variant.replace('_', '-')}-fashion-mnist", "recipe.toml")
    if os.path.isfile(recipe):
        settings, origin = load_recipe(recipe), os.path.relpath(recipe, REPO)
    else:
        settings, origin = {"variant": variant, **json.loads(json.dumps(DEFAULT_SETTINGS))}, "variant defaults"
    settings.update(seed=seed, epochs=1000, max_minutes=minutes)
    return settings, origin


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=9.0)
    parser.add_argument("--variants", nargs="+", default=zoo.list_variants())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=10000, help="samples per evaluation")
    parser.add_argument("--out", default="runs/variant_quality")
    args = parser.parse_args(argv)
    from zoo.training import train

    rows = []
    for variant in args.variants:
        settings, origin = settings_for(variant, args.minutes, args.seed)
        started = time.perf_counter()
        gan, _ = train(out=os.path.join(args.out, variant), verbose=0, **settings)
        seconds = time.perf_counter() - started
        result = zoo.metrics.evaluate(gan, "fashion_mnist", n=args.n, seed=0)
        images = int(gan.g_optimizer.iterations.numpy()) * settings["batch_size"]
        rows.append({"variant": variant, "settings": origin, "seconds": round(seconds), "images_seen": images,
                     **{m: result.metrics.get(m) for m in METRICS}})
        print(json.dumps(rows[-1]), flush=True)
        with open(os.path.join(args.out, "variant_quality.json"), "w") as file:
            json.dump({"minutes": args.minutes, "n": args.n, "rows": rows}, file, indent=2)

    print(f"\nQuality after {args.minutes:g} min of training, real Fashion-MNIST, CPU only "
          f"({os.cpu_count()} cores); {args.n} samples vs the test split\n")
    print("| variant | settings | wall-clock | images seen | FD ↓ | KID ↓ | precision ↑ | recall ↑ | coverage ↑ | cond. acc. ↑ |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        accuracy = "–" if row["conditional_accuracy"] is None else f"{row['conditional_accuracy']:.3f}"
        print(f"| `{row['variant']}` | {row['settings']} | {row['seconds']} s | {row['images_seen']:,} | {row['fd']:.1f} | "
              f"{row['kid']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | {row['coverage']:.3f} | {accuracy} |")


if __name__ == "__main__":
    sys.exit(main())
