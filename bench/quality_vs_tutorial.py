"""Time to quality: FD against training minutes, the zoo's DCGAN recipe vs the TensorFlow DCGAN tutorial.

Both train on the real Fashion-MNIST on this machine for the same number of minutes
(one after the other, each with the whole machine) and are scored by
`zoo.metrics.evaluate` against the test split (10k samples, published domain
classifier) at every checkpoint minute, with their training clock paused while they are
scored, so one run of each gives its whole curve. The zoo's recipe (EMA generator, the
one that is exported) runs with several seeds for mean ± std. The curve is drawn as a PNG
(`--png`, shown in BENCHMARKS.md) and the figures are kept as JSON.

Usage:
    python bench/quality_vs_tutorial.py --minutes 9 --checkpoints 1 2 3 5 7 --seeds 0 \
        --out runs/quality --png bench/results/quality_vs_tutorial.png
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
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


class CurveBudget(keras.callbacks.Callback):
    """Scores the GAN at checkpoint minutes and stops it at `minutes`, its clock paused while it scores.

    Args:
        minutes: the training budget (what `max_minutes` of a recipe means).
        checkpoints: minutes (< `minutes`) at which to call `on_checkpoint(gan, minute)`.
        on_checkpoint: scores the GAN; its time is not training time.
        started: `time.perf_counter()` when the run was started: what it spent before `fit`
            (finding the recipe's clusters, building the model) counts in the budget, as in
            `zoo.training`.
    """

    def __init__(self, minutes, checkpoints, on_checkpoint, started):
        super().__init__()
        self.budget = minutes * 60.0
        self.pending = sorted(minute for minute in checkpoints if minute < minutes)
        self.on_checkpoint = on_checkpoint
        self.started = started
        self.paused = 0.0

    def trained(self):
        return time.perf_counter() - self.started - self.paused

    def on_train_batch_end(self, batch, logs=None):
        if self.pending and self.trained() >= self.pending[0] * 60:
            scoring = time.perf_counter()
            self.on_checkpoint(self.model, self.pending.pop(0))
            self.paused += time.perf_counter() - scoring
        if self.trained() >= self.budget:
            self.model.stop_training = True


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
    parser.add_argument("--checkpoints", "--tutorial-checkpoints", type=float, nargs="*", default=[],
                        help="also score both after these minutes of their runs (their clocks are paused meanwhile)")
    parser.add_argument("--png", help="draw FD against minutes into this PNG file")
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
            args.minutes, seed=0, checkpoints=args.checkpoints,
            on_checkpoint=lambda model, minutes, seen: curve.append(score_tutorial(model, minutes, seen)),
        )
        rows.append(score_tutorial(tutorial, args.minutes, seen))

    settings = load_recipe(args.recipe)
    for seed in args.seeds:
        settings.update(seed=seed, epochs=1000, max_minutes=None)

        def score_zoo(gan, minutes, seed=seed):
            seen = int(gan.g_optimizer.iterations.numpy()) * settings["batch_size"]
            result = zoo.metrics.evaluate(gan, "fashion_mnist", n=args.n, seed=0)
            row = {"contender": "zoo dcgan recipe", "seed": seed, "minutes": minutes, "images_seen": seen,
                   **{m: result.metrics.get(m) for m in METRICS}}
            print(json.dumps(row), flush=True)
            return row

        budget = CurveBudget(
            args.minutes, args.checkpoints, lambda gan, minutes: curve.append(score_zoo(gan, minutes)), time.perf_counter()
        )
        gan, _ = train(out=os.path.join(args.out, f"zoo-dcgan-seed{seed}"), verbose=0, callbacks=[budget], **settings)
        print(f"seed {seed}: {int(gan.g_optimizer.iterations.numpy())} steps", file=sys.stderr, flush=True)
        rows.append(score_zoo(gan, args.minutes))

    zoo_rows = [row for row in rows if row["contender"].startswith("zoo")]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "quality_vs_tutorial.json"), "w") as file:
        json.dump({"minutes": args.minutes, "recipe": os.path.relpath(args.recipe, REPO), "rows": rows,
                   "tutorial_curve": curve}, file, indent=2)
    if args.png:
        draw_curve(rows + curve, args.minutes, args.png)
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


def draw_curve(rows, minutes, path, goal=(9.0, 20.0)):
    """FD (log scale) against training minutes, one line per contender (mean over seeds, ± std as a band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for contender in sorted({row["contender"] for row in rows}):
        by_minute = {}
        for row in rows:
            if row["contender"] == contender and row.get("fd") is not None:
                by_minute.setdefault(row.get("minutes", minutes), []).append(row["fd"])
        xs = sorted(by_minute)
        means = np.array([np.mean(by_minute[x]) for x in xs])
        stds = np.array([np.std(by_minute[x]) for x in xs])
        axes.plot(xs, means, marker="o", label=contender)
        if stds.any():
            axes.fill_between(xs, means - stds, means + stds, alpha=0.2)
    axes.scatter([goal[0]], [goal[1]], marker="*", s=120, color="black", zorder=3, label=f"goal: FD ≤ {goal[1]:g} at {goal[0]:g} min")
    axes.set_yscale("log")
    axes.set_xlabel("training minutes (2 CPU cores)")
    axes.set_ylabel("FD vs Fashion-MNIST test (lower is better)")
    axes.set_title("Time to quality on real Fashion-MNIST (CPU only)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = path + ".tmp.png"
    figure.savefig(temporary)
    os.replace(temporary, path)
    plt.close(figure)


if __name__ == "__main__":
    main()
