"""Training throughput: the zoo's variants vs the TensorFlow DCGAN tutorial, side by side.

Every contender trains on the same real Fashion-MNIST pipeline (`zoo.data.load`) at
the same batch size. Rounds are interleaved (tutorial, zoo A, zoo B, tutorial, ...)
so that a busy machine slows every contender alike; each figure is the median over
rounds, and the ratio is taken against the tutorial's median.

Usage:
    python bench/train_throughput.py                  # Markdown table
    python bench/train_throughput.py --rounds 5 --steps 40 --json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from tutorial_dcgan import TutorialDCGAN  # noqa: E402


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


class ZooContender:
    """Times `GAN.fit` epochs of `steps` steps (tracing excluded by a warm-up).

    `run` returns seconds per step.
    """

    def __init__(self, name, variant, batches, variant_config=None, compile_config=None):
        self.name = name
        self.gan = zoo.create(variant, **(variant_config or {}))
        self.gan.compile(**(compile_config or {}))
        self.batches = batches
        self.timer = _EpochTimer()
        self.params = self.gan.generator.count_params() + self.gan.discriminator.count_params()

    def run(self, steps):
        per_call = self.gan.steps_per_execution
        steps = max(per_call, steps // per_call * per_call)
        self.gan.fit(self.batches, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[self.timer])
        return self.timer.seconds / steps


class TutorialContender:
    """Times the tutorial's `@tf.function` step in a plain Python loop."""

    def __init__(self, batches):
        self.name = "TF DCGAN tutorial (baseline)"
        self.model = TutorialDCGAN()
        self.iterator = iter(batches.map(lambda images, labels: images))
        self.params = self.model.generator.count_params() + self.model.discriminator.count_params()

    def run(self, steps):
        """Returns seconds per step."""
        start = time.perf_counter()
        for _ in range(steps):
            losses = self.model.train_step(next(self.iterator))
        float(losses[0])  # wait for the last step
        return (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256, help="the tutorial's batch size (default 256)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    batches = zoo.data.load("fashion_mnist", batch_size=args.batch_size, seed=0).repeat()
    contenders = [
        TutorialContender(batches),
        ZooContender("zoo dcgan", "dcgan", batches),
        ZooContender("zoo dcgan, XLA (jit_compile=True)", "dcgan", batches, compile_config={"jit_compile": True}),
        ZooContender("zoo dcgan, steps_per_execution=8", "dcgan", batches, compile_config={"steps_per_execution": 8}),
        ZooContender("zoo dcgan, upsampling='transpose'", "dcgan", batches, {"upsampling": "transpose"}),
        ZooContender("zoo dcgan, tutorial-sized D (d_width=64)", "dcgan", batches, {"d_width": 64}),
        ZooContender("zoo cgan", "cgan", batches),
        ZooContender("zoo mlp_gan", "mlp_gan", batches),
    ]
    for contender in contenders:  # warm-up: tracing, allocation
        contender.run(3)
    rates = {contender.name: [] for contender in contenders}
    for _ in range(args.rounds):
        for contender in contenders:
            seconds_per_step = contender.run(args.steps)
            rates[contender.name].append(args.batch_size / seconds_per_step)
    baseline = statistics.median(rates[contenders[0].name])
    rows = [
        {
            "contender": contender.name,
            "images_per_second": round(statistics.median(rates[contender.name]), 1),
            "ratio_vs_tutorial": round(statistics.median(rates[contender.name]) / baseline, 2),
            "parameters": contender.params,
        }
        for contender in contenders
    ]
    machine = {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "batch_size": args.batch_size,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "device": "CPU only",
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": rows}, indent=2))
        return
    print(f"Training throughput, real Fashion-MNIST, batch {args.batch_size}, CPU only "
          f"({machine['cpu_count']} cores, TF {tf.__version__}, Keras {keras.__version__}); "
          f"median of {args.rounds} interleaved rounds of {args.steps} steps\n")
    print("| contender | images/s | × tutorial | parameters (G+D) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['contender']} | {row['images_per_second']:.0f} | {row['ratio_vs_tutorial']:.2f} | {row['parameters']:,} |")


if __name__ == "__main__":
    main()
