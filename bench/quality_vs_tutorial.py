"""Sample quality at equal wall-clock: the zoo's DCGAN recipe vs the TensorFlow DCGAN tutorial.

Both train on the real Fashion-MNIST on this machine for the same number of minutes
(one after the other, each with the whole machine), then both are scored by
`zoo.metrics.evaluate` against the test split (10k samples, published domain
classifier). The zoo's recipe is run with several seeds for mean ± std.

Usage:
    python bench/quality_vs_tutorial.py --minutes 7 --seeds 0 1 2 --out runs/quality
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import zoo  # noqa: E402
import zoo.metrics  # noqa: E402
from zoo.metrics.sources import ArraySource  # noqa: E402
from tutorial_dcgan import NOISE_DIM, TutorialDCGAN  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "models", "dcgan-fashion-mnist", "recipe.toml")
METRICS = ("fd", "kid", "precision", "recall", "density", "coverage", "classifier_score")


def train_tutorial(minutes, seed, batch_size=256, on_checkpoint=None, checkpoints=()):
    """The tutorial's loop for `minutes`; returns (model, images seen).

    `on_checkpoint(model, minutes_trained, images_seen)` is called at each of
    `checkpoints` (minutes of training, < `minutes`); the training clock is
    stopped while it runs, so one run gives the tutorial's whole curve.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = TutorialDCGAN()
    batches = iter(zoo.data.load("fashion_mnist", batch_size=batch_size, seed=seed, with_labels=False).repeat())
    pending = sorted(minute for minute in checkpoints if minute < minutes)
    trained = 0.0
    steps = 0
    while trained < minutes * 60:
        start = time.perf_counter()
        model.train_step(next(batches))
        trained += time.perf_counter() - start
        steps += 1
        if pending and trained >= pending[0] * 60:
            on_checkpoint(model, pending.pop(0), steps * batch_size)
    return model, steps * batch_size


def tutorial_samples(model, n, seed):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, NOISE_DIM)).astype("float32")
    return np.concatenate([model.generator(noise[i : i + 500], training=False).numpy() for i in range(0, n, 500)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2], help="zoo seeds (none: only the tutorial)")
    parser.add_argument("--n", type=int, default=10000, help="samples per evaluation")
    parser.add_argument("--out", default="runs/quality")
    parser.add_argument("--recipe", default=RECIPE, help="the zoo recipe to compare (default: the published DCGAN)")
    parser.add_argument("--skip-tutorial", action="store_true",
                        help="train and score only the zoo's seeds (compare with an earlier tutorial run)")
    parser.add_argument("--tutorial-checkpoints", type=float, nargs="*", default=[],
                        help="also score the tutorial after these minutes of its run (its clock is paused meanwhile)")
    args = parser.parse_args(argv)
    from zoo.recipes import load_recipe
    from zoo.training import train

    rows = []
    curve = []

    def score_tutorial(model, minutes, seen):
        source = ArraySource(tutorial_samples(model, args.n, 0), name="tutorial")
        result = zoo.metrics.evaluate(source, "fashion_mnist", n=args.n, seed=0)
        row = {"contender": "TF DCGAN tutorial", "seed": 0, "minutes": minutes, "images_seen": seen,
               **{m: result.metrics.get(m) for m in METRICS}}
        print(json.dumps(row), flush=True)
        return row

    if not args.skip_tutorial:
        tutorial, seen = train_tutorial(
            args.minutes, seed=0, checkpoints=args.tutorial_checkpoints,
            on_checkpoint=lambda model, minutes, seen: curve.append(score_tutorial(model, minutes, seen)),
        )
        rows.append(score_tutorial(tutorial, args.minutes, seen))

    settings = load_recipe(args.recipe)
    for seed in args.seeds:
        settings.update(seed=seed, epochs=1000, max_minutes=args.minutes)
        gan, _ = train(out=os.path.join(args.out, f"zoo-dcgan-seed{seed}"), verbose=0, **settings)
        print(f"seed {seed}: {int(gan.g_optimizer.iterations.numpy())} steps", file=sys.stderr, flush=True)
        result = zoo.metrics.evaluate(gan, "fashion_mnist", n=args.n, seed=0)
        seen = int(gan.g_optimizer.iterations.numpy()) * settings["batch_size"]
        rows.append({"contender": "zoo dcgan recipe", "seed": seed, "images_seen": seen, **{m: result.metrics.get(m) for m in METRICS}})
        print(json.dumps(rows[-1]), flush=True)

    zoo_rows = [row for row in rows if row["contender"].startswith("zoo")]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "quality_vs_tutorial.json"), "w") as file:
        json.dump({"minutes": args.minutes, "recipe": os.path.relpath(args.recipe, REPO), "rows": rows,
                   "tutorial_curve": curve}, file, indent=2)
    if not zoo_rows:
        return
    print(f"\nQuality after {args.minutes:g} min of training each, real Fashion-MNIST, CPU only "
          f"({os.cpu_count()} cores); {args.n} samples vs the test split\n")
    print("| contender | seeds | images seen | FD ↓ | KID ↓ | precision ↑ | recall ↑ | coverage ↑ |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    tutorial_row = None if args.skip_tutorial else rows[0]
    if tutorial_row:
        print(f"| TF DCGAN tutorial | 0 | {tutorial_row['images_seen']:,} | {tutorial_row['fd']:.2f} | {tutorial_row['kid']:.4f} | "
              f"{tutorial_row['precision']:.3f} | {tutorial_row['recall']:.3f} | {tutorial_row['coverage']:.3f} |")

    def spread(key):
        values = [row[key] for row in zoo_rows]
        return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)

    fd_mean, fd_std = spread("fd")
    cells = " | ".join(f"{spread(k)[0]:.3f} ± {spread(k)[1]:.3f}" for k in ("kid", "precision", "recall", "coverage"))
    print(f"| zoo dcgan recipe | {','.join(map(str, args.seeds))} | {statistics.mean(r['images_seen'] for r in zoo_rows):,.0f} | "
          f"{fd_mean:.2f} ± {fd_std:.2f} | {cells} |")
    if tutorial_row:
        print(f"\nFD ratio zoo / tutorial: {fd_mean / tutorial_row['fd']:.3f} (goal ≤ 0.1)")


if __name__ == "__main__":
    main()
