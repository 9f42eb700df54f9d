"""Time `zoo evaluate`: scoring n samples (default 10k) against Fashion-MNIST's test split.

For each variant (built fresh with seed 0, 28x28x1, untrained: quality does not
change the cost) the generator is saved as `.keras` and, with `--onnx`, converted
to ONNX as `zoo export` does. Then it measures:

- `cli`: wall time of a fresh `zoo evaluate MODEL --n N --json` process (Python
  and TensorFlow start-up, classifier load, reference statistics, everything);
- `cold`: the first `zoo.metrics.evaluate` call in this process (reference
  features, k-NN radii and KID terms computed);
- `warm`: a second call, as in the training callback (reference cached),

with the split into generating, classifier features and metrics. Prints a
Markdown table (or JSON with `--json`).

Example:

    PYTHONPATH=. python bench/evaluate_speed.py
    PYTHONPATH=. python bench/evaluate_speed.py --variants dcgan --n 10000 --onnx --json
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="dcgan,cgan")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--onnx", action="store_true", help="also time the ONNX generator (onnxruntime)")
    parser.add_argument("--no-cli", action="store_true", help="skip the fresh-process CLI timing")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return parser.parse_args(argv)


def to_onnx(gan, path):
    import onnx
    import tensorflow as tf
    import tf2onnx

    generator = gan.generator
    z_spec = tf.TensorSpec([None, gan.latent_dim], tf.float32, name="z")
    if gan.num_classes is None:
        signature = [z_spec]

        def function(z):
            return {"image": generator(z, training=False)}

    else:
        signature = [z_spec, tf.TensorSpec([None], tf.int64, name="label")]

        def function(z, label):
            return {"image": generator([z, tf.cast(label, tf.int32)], training=False)}

    model, _ = tf2onnx.convert.from_function(tf.function(function, input_signature=signature), input_signature=signature, opset=17)
    onnx.helper.set_model_props(model, gan.record.to_onnx_metadata())
    onnx.save(model, path)


def time_cli(path, n):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "evaluate", path, "--n", str(n), "--json"], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return seconds, json.loads(result.stdout)["runtime"]


def main(argv=None):
    args = parse_args(argv)
    import zoo
    from zoo.metrics import evaluate

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for variant in args.variants.split(","):
            gan = zoo.create(variant, seed=0)
            paths = {"keras": os.path.join(folder, f"{variant}.keras")}
            gan.save(paths["keras"])
            if args.onnx:
                paths["onnx"] = os.path.join(folder, f"{variant}.onnx")
                to_onnx(gan, paths["onnx"])
            for kind, path in paths.items():
                if not args.no_cli:
                    seconds, runtime = time_cli(path, args.n)
                    rows.append({"variant": variant, "format": kind, "run": "cli", "wall": round(seconds, 1), **runtime})
                for run in ("cold", "warm"):
                    if run == "cold":
                        from zoo.metrics import evaluation

                        evaluation._REFERENCES.clear()
                    start = time.perf_counter()
                    result = evaluate(path, "fashion_mnist", n=args.n, seed=0)
                    wall = time.perf_counter() - start
                    rows.append({"variant": variant, "format": kind, "run": run, "wall": round(wall, 1), **result.runtime})
    machine = {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)), "n": args.n}
    if args.json:
        print(json.dumps({"machine": machine, "rows": rows}, indent=2))
        return
    print(f"n = {args.n} samples vs the 10k test split, {machine['cpus']} CPU cores (CPU only)\n")
    print("| variant | format | run | wall s | generate s | features s | metrics s | reference s |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['variant']} | {row['format']} | {row['run']} | {row['wall']:.1f} | {row['generate']:.1f} | "
            f"{row['features']:.1f} | {row['metrics']:.1f} | {row['reference']:.1f} |"
        )


if __name__ == "__main__":
    main()
