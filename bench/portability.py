"""Every published generator in every ONNX runtime: error on its test vectors, p50 latency vs the SavedModel.

For each `export/*/` folder whose manifest lists `generator.onnx`, replays
`test_data_set_0/` (batch 7) in each runtime and records the max-abs error
against `output_0.pb`, then times batch 1 and batch 64 (p50). The SavedModel
column is what `zoo.hub.download(name, format="savedmodel")` gives (the
shipped zip, or the SavedModel rebuilt from `generator.keras` and checked
against the test vectors), called through `zoo.export.runtime`. The ONNX
runtimes are the engines of `zoo.export.engines` (onnxruntime, OpenVINO,
OpenCV DNN, tract, onnx2torch when torch is installed) and onnxruntime-web in
Debian's headless Chromium (`tests/browser_runtime.py`).

The SavedModel and the Python engines are timed together in alternating blocks
of 10 calls (`bench/inference.py`'s `time_interleaved`), so load from other
processes falls on all of them alike. onnxruntime-web (wasm) is timed inside
the page (`performance.now()` around `session.run` and reading the image), in
its own run right after, with as many wasm threads as onnxruntime has intra-op
threads. Correctness only, never timed: the ONNX reference evaluator (NumPy, the
spec) and WebGPU (Chromium's adapter here is SwiftShader, a software one).

Prints a Markdown block (or JSON with `--json`); `--write BENCHMARKS.md`
replaces the block between `<!-- portability:start -->` and
`<!-- portability:end -->` (appending a section if the markers are missing).

Example:

    PYTHONPATH=. python bench/portability.py --write BENCHMARKS.md
    PYTHONPATH=. python bench/portability.py --artifacts cgan-fashion-mnist --rounds 20 --json
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]

from inference import summarize, time_interleaved  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL)

import numpy as np  # noqa: E402

EXPORT_DIR = os.path.join(REPO, "export")
START, END = "<!-- portability:start -->", "<!-- portability:end -->"
HEADING = "## Portability: every published generator in every runtime (`bench/portability.py`)"
TIMED_ENGINES = ("onnxruntime", "openvino", "opencv", "tract", "onnx2torch")
UNTIMED = {"onnx-reference": "NumPy reference: correctness only",
           "onnxruntime-web-webgpu": "SwiftShader, a software adapter: correctness only"}
ROW_ORDER = ("savedmodel", "onnxruntime", "onnx-reference", "openvino", "opencv", "tract", "onnx2torch",
             "onnxruntime-web-wasm", "onnxruntime-web-webgpu")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=None, help="comma-separated names (default: every published one)")
    parser.add_argument("--batch-sizes", default="1,64")
    parser.add_argument("--rounds", type=int, default=60, help="timed calls per runtime (default 60)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true", help="skip onnxruntime-web in Chromium")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--write", default=None, metavar="PATH",
                        help="replace the portability block of this Markdown file (e.g. BENCHMARKS.md)")
    return parser.parse_args(argv)


def published(names=None):
    """`[(name, folder, manifest)]` of the published generators with an ONNX file."""
    from zoo.export.manifest import read_manifest

    found = []
    for name in sorted(os.listdir(EXPORT_DIR)):
        folder = os.path.join(EXPORT_DIR, name)
        if not os.path.isfile(os.path.join(folder, "manifest.json")):
            continue
        manifest = read_manifest(folder)
        if "generator.onnx" in manifest["files"] and (names is None or name in names):
            found.append((name, folder, manifest))
    return found


def feeds_for(manifest, batch_size, seed):
    from zoo.export.manifest import manifest_record

    record = manifest_record(manifest)
    rng = np.random.default_rng(seed)
    feeds = {"z": rng.standard_normal((batch_size, record.latent_dim)).astype(np.float32)}
    if record.conditional:
        feeds["label"] = (np.arange(batch_size, dtype=np.int64) + seed) % record.num_classes
    return feeds


def one_line(error, path=None):
    text = " ".join(str(error).split())
    if path:
        text = text.replace(path, os.path.basename(path))
    return f"{type(error).__name__}: {text[:200]}"


def max_abs(image, expected):
    if image.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(image.astype(np.float64) - expected)))


def saved_model_runner(name, cache_dir):
    import zoo.hub
    from zoo.export import runtime

    path = zoo.hub.download(name, format="savedmodel", source=EXPORT_DIR, cache_dir=cache_dir, progress=False)
    signature = runtime.load_saved_model(path)

    def prepare(feeds):
        import tensorflow as tf

        return {key: tf.constant(value) for key, value in feeds.items()}

    return (lambda tensors: signature(**tensors)["image"].numpy(), prepare), (
        lambda feeds: runtime.run_saved_model(signature, feeds)
    )


def measure(args):
    from zoo.export import engines
    from zoo.sessions import physical_cores
    from zoo.export.test_vectors import load_test_vectors

    threads = physical_cores()
    names = set(args.artifacts.split(",")) if args.artifacts else None
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    available = engines.available_engines()
    browser = None
    if not args.no_browser:
        import browser_runtime

        reason = browser_runtime.missing()
        if reason is None:
            browser = browser_runtime.BrowserRuntime(threads=threads).__enter__()
        else:
            print(f"  onnxruntime-web skipped: {reason}", file=sys.stderr)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="zoo-portability-") as cache_dir:
            for name, folder, manifest in published(names):
                inputs, outputs = load_test_vectors(folder)
                expected = outputs["image"]
                onnx_path = os.path.join(folder, "generator.onnx")
                timed, cells = {}, {}

                def record(runtime, opener):
                    try:
                        run = opener()
                        cells[runtime] = {"max_abs": max_abs(run(inputs), expected)}
                        return run
                    except Exception as error:  # a runtime that cannot load or run this graph
                        cells[runtime] = {"error": one_line(error, onnx_path)}
                        return None

                try:
                    timer, plain = saved_model_runner(name, cache_dir)
                except Exception as error:  # a catalogue that does not match export/, for one
                    cells["savedmodel"] = {"error": one_line(error)}
                else:
                    if record("savedmodel", lambda: plain):
                        timed["savedmodel"] = timer
                for engine in engines.list_engines():
                    if engine not in available:
                        continue
                    run = record(engine, lambda engine=engine: engines.load(engine, onnx_path))
                    if run is not None and engine in TIMED_ENGINES:
                        timed[engine] = (run, lambda feeds: feeds)
                web = {}
                if browser is not None:
                    for ep in ("wasm", "webgpu"):
                        runtime = f"onnxruntime-web-{ep}"
                        if ep == "webgpu" and not browser.webgpu_adapter()["available"]:
                            cells[runtime] = {"error": "no WebGPU adapter in headless Chromium"}
                            continue
                        web[runtime] = record(runtime, lambda ep=ep: browser.load(onnx_path, ep))

                for batch_size in batch_sizes:
                    feeds = feeds_for(manifest, batch_size, args.seed)
                    samples = time_interleaved(timed, feeds, args.rounds, args.warmup)
                    for runtime, times in samples.items():
                        cells[runtime][f"batch_{batch_size}"] = summarize(times, batch_size)
                    wasm = web.get("onnxruntime-web-wasm")
                    if wasm is not None:
                        milliseconds = wasm.time(feeds, args.rounds, args.warmup)
                        cells["onnxruntime-web-wasm"][f"batch_{batch_size}"] = summarize(
                            np.asarray(milliseconds) / 1e3, batch_size
                        )
                    print(f"  measured {name} batch {batch_size}", file=sys.stderr, flush=True)
                for run in web.values():
                    if run is not None:
                        run.release()
                results.append({"artifact": name, "opset": manifest.get("opset"),
                                 "target": manifest.get("onnx_target"), "cells": cells})
    finally:
        chromium = browser.page.context.browser.version if browser is not None else None
        if browser is not None:
            browser.close()
    return {"environment": environment(threads, chromium), "batch_sizes": batch_sizes, "rounds": args.rounds,
            "date": datetime.date.today().isoformat(), "results": results}


def environment(threads, chromium):
    import importlib.metadata

    versions = {}
    for package in ("tensorflow-cpu", "tensorflow", "onnxruntime", "onnx", "openvino", "opencv-python-headless",
                    "tract", "torch", "onnx2torch"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    web = os.path.join(REPO, "node_modules", "onnxruntime-web", "package.json")
    if os.path.isfile(web):
        with open(web, encoding="utf-8") as file:
            versions["onnxruntime-web"] = json.load(file)["version"]
    if chromium:
        versions["chromium"] = chromium
    return {"cpu": cpu_description(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "threads": threads, "python": platform.python_version(), "versions": versions,
            "load_average_5min": os.getloadavg()[1] if hasattr(os, "getloadavg") else None}


def cpu_description():
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    extras = [label for flag, label in (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16")) if flag in flags]
    return ", ".join(filter(None, [model or platform.processor() or platform.machine(), *extras]))


def markdown(measured):
    env = measured["environment"]
    versions = env["versions"]
    artifacts = [row["artifact"] for row in measured["results"]]
    present = {runtime for row in measured["results"] for runtime in row["cells"]}
    runtimes = [runtime for runtime in ROW_ORDER if runtime in present]
    tf_version = versions.get("tensorflow-cpu") or versions.get("tensorflow", "?")
    labels = {
        "savedmodel": f"SavedModel (TensorFlow {tf_version})",
        "onnxruntime": f"onnxruntime {versions.get('onnxruntime', '')}",
        "onnx-reference": f"ONNX reference evaluator (onnx {versions.get('onnx', '')})",
        "openvino": f"OpenVINO {versions.get('openvino', '').split('-')[0]} (f32 hint)",
        "opencv": f"OpenCV DNN {versions.get('opencv-python-headless', '')}",
        "tract": f"tract {versions.get('tract', '')}",
        "onnx2torch": f"onnx2torch {versions.get('onnx2torch', '')} (torch {versions.get('torch', '')})",
        "onnxruntime-web-wasm": f"onnxruntime-web {versions.get('onnxruntime-web', '')} wasm (Chromium)",
        "onnxruntime-web-webgpu": f"onnxruntime-web {versions.get('onnxruntime-web', '')} WebGPU (Chromium)",
    }
    by_artifact = {row["artifact"]: row["cells"] for row in measured["results"]}
    header = "| runtime | " + " | ".join(artifacts) + " |"
    rule = "|---|" + "---:|" * len(artifacts)
    load = env.get("load_average_5min")
    busy = (f"; 5-minute load average {load:.1f} at the end (other jobs share the cores: read the ratios "
            "more than the absolute figures)") if load is not None else ""
    graphs = ", ".join(
        f"{row['artifact']} opset {row['opset']}" + (f" ({row['target']})" if row["target"] else "")
        for row in measured["results"]
    )
    lines = [
        f"Every published generator (`export/*/generator.onnx`) in each runtime, {measured['date']}. "
        f"**CPU only**: {env['cpu']}, {env['cpu_count']} logical cores ({env['machine']}, Python {env['python']}); "
        f"onnxruntime and the wasm backend with {env['threads']} threads, the others with their defaults{busy}. "
        f"Graphs: {graphs}.",
        "",
        "Max-abs error on the test vectors (`test_data_set_0/`, batch 7; `tests/test_portability.py` gates ≤ 1e-4):",
        "",
        header,
        rule,
    ]
    failures = []
    for runtime in runtimes:
        cells = []
        for artifact in artifacts:
            cell = by_artifact[artifact].get(runtime)
            if cell is None:
                cells.append("not run")
            elif "error" in cell:
                failures.append(f"{labels[runtime]} on {artifact}: {cell['error']}")
                cells.append(f"fails ({len(failures)})")
            else:
                cells.append(f"{cell['max_abs']:.1e}")
        lines.append(f"| {labels[runtime]} | " + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Failures (numbered as in the table):", "", *[
            f"{index}. {line}" for index, line in enumerate(failures, 1)
        ]]
    for batch_size in measured["batch_sizes"]:
        key = f"batch_{batch_size}"
        lines += [
            "",
            f"p50 latency at batch {batch_size}, ms (× the SavedModel's p50; {measured['rounds']} calls each):",
            "",
            header,
            rule,
        ]
        for runtime in runtimes:
            cells = []
            for artifact in artifacts:
                row = by_artifact[artifact]
                cell = row.get(runtime, {})
                if runtime in UNTIMED:
                    cells.append("—")
                elif key not in cell:
                    cells.append("fails" if "error" in cell else "—")
                else:
                    p50 = cell[key]["p50_ms"]
                    reference = row.get("savedmodel", {}).get(key, {}).get("p50_ms")
                    ratio = f" ({p50 / reference:.2f}×)" if reference and runtime != "savedmodel" else ""
                    cells.append(f"{p50:.3f}{ratio}")
            lines.append(f"| {labels[runtime]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Not timed: " + "; ".join(f"{labels[runtime]}: {why}" for runtime, why in UNTIMED.items() if runtime in present)
        + ". onnxruntime-web's wasm is timed inside the page (`performance.now()`), the others from Python "
        "in alternating blocks.",
        "",
        "Reproduce: `python bench/portability.py --write BENCHMARKS.md`.",
    ]
    return "\n".join(lines)


def write_block(path, block):
    """Replaces the text between the portability markers of `path` (or appends a section)."""
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    wrapped = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        text = before + wrapped + after
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{wrapped}\n"
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def main(argv=None):
    args = parse_args(argv)
    for module in ("torch", "torchvision"):
        # torch before TensorFlow: triton (torch's CUDA build) crashes a process that loaded TensorFlow first.
        try:
            __import__(module)
        except ImportError:
            break
    measured = measure(args)
    block = markdown(measured)
    print(json.dumps(measured, indent=2) if args.json else block)
    if args.write:
        write_block(args.write, block)
        print(f"wrote the portability block of {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
