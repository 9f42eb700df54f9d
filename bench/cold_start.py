"""Cold start of the ONNX-only runtime: `import zoo.serving` + the first image.

Each run is a fresh Python process that imports `zoo.serving`, opens the
generator (`OnnxGenerator`: the onnxruntime session and its metadata) and
generates one image. The times are taken inside the process with
`time.perf_counter` from before the import; the process' whole wall time
(interpreter start and exit included) is reported beside them. The first run
warms the operating system's file cache and is reported apart. Goal: import +
first image < 0.5 s.

Example:

    python bench/cold_start.py                      # exports an untrained cgan first
    python bench/cold_start.py --model export/cgan-fashion-mnist --runs 11
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from serve_load import REPO, ensure_model  # noqa: E402

CHILD = r"""
import time
started = time.perf_counter()
import zoo.serving
imported = time.perf_counter()
generator = zoo.serving.OnnxGenerator(MODEL)
opened = time.perf_counter()
images = generator.generate(1, labels=0 if generator.num_classes else None, seed=0)
generated = time.perf_counter()
assert images.shape[0] == 1 and images.dtype.name == "uint8"
import json, sys
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"tensorflow", "keras", "fastapi", "onnx"})
print(json.dumps({"import": imported - started, "open": opened - imported, "first_image": generated - opened,
                  "total": generated - started, "heavy_modules": heavy}))
"""

PARTS = ("import", "open", "first_image", "total", "process")


def one_run(model):
    code = CHILD.replace("MODEL", repr(str(model)))
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="artifact folder, .onnx file or pretrained name (default: export an untrained cgan)")
    parser.add_argument("--runs", type=int, default=9, help="measured runs after the warm-up run (default: 9)")
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as workdir:
        model = ensure_model(args.model, workdir)
        first = one_run(model)
        runs = [one_run(model) for _ in range(args.runs)]
    if first["heavy_modules"]:
        raise SystemExit(f"bench: zoo.serving imported {first['heavy_modules']}")
    lines = [
        f"`import zoo.serving` + `OnnxGenerator(...)` + `generate(1)` in a fresh process, "
        f"{args.runs} runs after one warm-up run (Python {sys.version.split()[0]}).",
        "",
        "| step | first run ms | median ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    names = {"import": "import zoo.serving", "open": "open the generator (session + metadata)",
             "first_image": "first image", "total": "**import + first image**",
             "process": "whole process (interpreter start/exit too)"}
    for part in PARTS:
        values = [run[part] * 1000 for run in runs]
        lines.append(f"| {names[part]} | {first[part] * 1000:.0f} | {statistics.median(values):.0f} | {max(values):.0f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        pathlib.Path(args.out).write_text(table + "\n")
    median_total = statistics.median(run["total"] for run in runs)
    print(f"bench: goal (import + first image < 0.5 s): {'met' if median_total < 0.5 else 'NOT met'} "
          f"(median {median_total * 1000:.0f} ms)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
