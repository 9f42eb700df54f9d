"""Inference latency of exported generators: Keras vs SavedModel vs onnxruntime (portable and tuned graphs).

Builds each variant freshly (fixed seed, 28x28x1), exports it with
`zoo.export.export_generator` into a temporary folder (so the SavedModel and ONNX
file are exactly what `zoo export` ships, parity-checked), then times, at each
batch size, Keras `predict_on_batch`, the SavedModel's `serving_default`
signature and onnxruntime sessions (`zoo.sessions.onnx_session`: all graph
optimizations, one thread per physical core) of both ONNX targets: the portable
graph that `zoo export` writes by default and the onnxruntime-tuned one
(`--target onnxruntime`, `Col2Im`). The runtimes are timed in
alternating blocks of 10 calls, so load from other processes falls on all of
them alike. Prints a Markdown table (or JSON with `--json`).

Example:

    PYTHONPATH=. python bench/inference.py
    PYTHONPATH=. python bench/inference.py --variants dcgan --batch-sizes 1,64 --rounds 100 --json
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

RUNTIMES = ("keras", "savedmodel", "onnxruntime", "onnxruntime-tuned")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=None, help="comma-separated (default: every registered variant)")
    parser.add_argument("--batch-sizes", default="1,64")
    parser.add_argument("--rounds", type=int, default=60, help="timed calls per runtime (default 60)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--config", default=None, help='extra builder options as JSON, e.g. \'{"g_width": 32}\'')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: physical cores)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return parser.parse_args(argv)


def build(variant, latent_dim, seed, config=None):
    import keras

    import zoo

    keras.utils.set_random_seed(seed)
    return zoo.create(variant, image_shape=(28, 28, 1), latent_dim=latent_dim, seed=seed, **(config or {}))


def runners(gan, folder, tuned_folder, threads):
    from zoo.export import runtime
    from zoo.sessions import onnx_session

    generator = gan.generator
    signature = runtime.load_saved_model(os.path.join(folder, "saved_model"))
    session = onnx_session(os.path.join(folder, "generator.onnx"), threads)
    tuned = onnx_session(os.path.join(tuned_folder, "generator.onnx"), threads)

    def keras_runner(feeds):
        if "label" in feeds:
            by_name = {"z": feeds["z"], "label": feeds["label"].astype(np.int32)}
            return generator.predict_on_batch([by_name[t.name] for t in generator.inputs])
        return generator.predict_on_batch(feeds["z"])

    def prepare_tf(feeds):
        import tensorflow as tf

        return {name: tf.constant(value) for name, value in feeds.items()}

    return {
        "keras": (keras_runner, lambda feeds: feeds),
        "savedmodel": (lambda tensors: signature(**tensors)["image"].numpy(), prepare_tf),
        "onnxruntime": (lambda feeds: session.run(["image"], feeds)[0], lambda feeds: feeds),
        "onnxruntime-tuned": (lambda feeds: tuned.run(["image"], feeds)[0], lambda feeds: feeds),
    }


def time_interleaved(runs, feeds, rounds, warmup, block=10):
    """Times each runtime in alternating blocks of `block` calls.

    Blocks (rather than single calls) keep one runtime's thread pool from
    spinning while another one runs; alternating them spreads load from other
    processes over all runtimes alike. The first call of each block is not timed.
    """
    prepared = {name: prepare(feeds) for name, (_, prepare) in runs.items()}
    for _ in range(warmup):
        for name, (run, _) in runs.items():
            run(prepared[name])
    samples = {name: [] for name in runs}
    while any(len(times) < rounds for times in samples.values()):
        for name, (run, _) in runs.items():
            run(prepared[name])
            for _ in range(min(block, rounds - len(samples[name]))):
                start = time.perf_counter()
                run(prepared[name])
                samples[name].append(time.perf_counter() - start)
    return samples


def summarize(samples, batch_size):
    seconds = np.asarray(samples)
    p50, p90 = np.percentile(seconds, [50, 90])
    return {"p50_ms": p50 * 1e3, "p90_ms": p90 * 1e3, "images_per_s": batch_size / p50}


def measure(args):
    from zoo.export import export_generator
    from zoo.export.parity import make_feeds
    from zoo.sessions import physical_cores

    results = []
    threads = args.threads or physical_cores()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as workdir:
        import zoo

        variants = args.variants.split(",") if args.variants else zoo.list_variants()
        for variant in variants:
            gan = build(variant, args.latent_dim, args.seed, json.loads(args.config) if args.config else None)
            folder = os.path.join(workdir, variant)
            report = export_generator(gan, folder, batch_sizes=(1, 7, 64), seed=args.seed)
            tuned_folder = folder + "-onnxruntime"
            export_generator(gan, tuned_folder, target="onnxruntime", batch_sizes=(1, 7), seed=args.seed)
            runs = runners(gan, folder, tuned_folder, threads)
            for batch_size in batch_sizes:
                feeds = make_feeds(gan.record, batch_size, args.seed)
                samples = time_interleaved(runs, feeds, args.rounds, args.warmup)
                row = {"variant": variant, "batch_size": batch_size}
                for name in RUNTIMES:
                    row[name] = summarize(samples[name], batch_size)
                row["ort_over_savedmodel"] = row["onnxruntime"]["p50_ms"] / row["savedmodel"]["p50_ms"]
                row["tuned_over_savedmodel"] = row["onnxruntime-tuned"]["p50_ms"] / row["savedmodel"]["p50_ms"]
                row["portable_over_tuned"] = row["onnxruntime"]["p50_ms"] / row["onnxruntime-tuned"]["p50_ms"]
                row["parity_max_abs"] = report.max_error("onnxruntime")
                row["onnx_ops"] = report.onnx_graph.get("ops", {})
                results.append(row)
                print(f"  measured {variant} batch {batch_size}", file=sys.stderr, flush=True)
    return {"environment": environment(threads), "results": results}


def environment(threads):
    import keras
    import onnxruntime
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "onnxruntime_threads": threads,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def markdown(measured):
    lines = [
        "| variant | batch | Keras p50 / p90 ms | Keras img/s | SavedModel p50 / p90 ms | SavedModel img/s "
        "| ORT portable p50 / p90 ms | ORT portable img/s | ORT tuned p50 / p90 ms | ORT tuned img/s "
        "| portable / SavedModel (p50) | tuned / SavedModel | portable / tuned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in measured["results"]:
        cells = [row["variant"], str(row["batch_size"])]
        for name in RUNTIMES:
            stats = row[name]
            cells.append(f"{stats['p50_ms']:.3f} / {stats['p90_ms']:.3f}")
            cells.append(f"{stats['images_per_s']:,.0f}")
        cells.append(f"{row['ort_over_savedmodel']:.2f}x")
        cells.append(f"{row['tuned_over_savedmodel']:.2f}x")
        cells.append(f"{row['portable_over_tuned']:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    env = measured["environment"]
    lines.append("")
    lines.append(
        f"CPU only, {env['cpu_count']} logical cores, onnxruntime {env['onnxruntime']} with "
        f"{env['onnxruntime_threads']} intra-op threads, TensorFlow {env['tensorflow']}, Keras {env['keras']}."
    )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    measured = measure(args)
    print(json.dumps(measured, indent=2) if args.json else markdown(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
