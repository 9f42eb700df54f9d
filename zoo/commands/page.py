"""`zoo page --out DIR [MODEL...]`: the web page as static files that run the models in the browser.

The folder works behind any static web server (no `zoo serve`, no Python):

    DIR/index.html
    DIR/static/            app.js, generator.js, latent.js, onnx_metadata.js, style.css
    DIR/ort/               the onnxruntime-web files (WebGPU and wasm builds)
    DIR/models/NAME/generator.onnx
    DIR/models.json        the index the page starts from

Example:

    zoo page --out site                        # every folder of export/ with a generator.onnx
    zoo page --out site export/cgan-fashion-mnist fashion=export/dcgan-fashion-mnist
    python -m http.server -d site 8000         # then open http://127.0.0.1:8000/
"""

import hashlib
import json
import os
import pathlib
import re
import shutil

HELP = "write the web page as static files that run the generators in the browser (onnxruntime-web)"
PAGE_FILES = ("app.js", "generator.js", "latent.js", "onnx_metadata.js", "style.css")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def register(subparsers):
    parser = subparsers.add_parser(
        "page",
        help=HELP,
        description=(
            "Write DIR/index.html, the page's scripts, onnxruntime-web (from the npm package that "
            "`npm ci` installs) and copies of the models' generator.onnx, indexed by DIR/models.json. "
            "Any static web server can serve DIR, e.g. `python -m http.server -d DIR`; the browser "
            "runs the models (WebGPU where available, else WebAssembly). DIR is replaced as a whole."
        ),
    )
    parser.add_argument(
        "models", nargs="*", metavar="MODEL",
        help="an artifact folder, an .onnx file or a pretrained name; NAME=MODEL names it "
        "(default: every folder of --export holding a generator.onnx)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (new, empty, or a page written before)")
    parser.add_argument(
        "--export", default="export", metavar="DIR", help="where to find models when none is given (default: export)"
    )
    parser.add_argument(
        "--ort-web", metavar="DIST",
        help="onnxruntime-web's dist/ folder (default: $ZOO_ORT_WEB, else node_modules/onnxruntime-web/dist)",
    )
    parser.set_defaults(handler=run)


def run(args):
    from zoo import paths
    from zoo.errors import ZooError
    from zoo.files import atomic_path
    from zoo.serving import browser

    out = pathlib.Path(args.out)
    _check_out(out)
    ort_web = browser.find_ort_web(args.ort_web)
    if ort_web is None:
        raise ZooError(
            "onnxruntime-web is not installed. Received: no --ort-web, no $ZOO_ORT_WEB, no "
            "node_modules/onnxruntime-web/dist. Run `npm ci` in the checkout (or pass --ort-web DIST)."
        )
    generators = _open_models(args.models, pathlib.Path(args.export))
    static = paths.static_dir()
    entries = []
    with atomic_path(out, directory=True) as temporary:
        root = pathlib.Path(temporary)
        shutil.copyfile(static / "index.html", root / "index.html")
        (root / "static").mkdir()
        for name in PAGE_FILES:
            shutil.copyfile(static / name, root / "static" / name)
        (root / "ort").mkdir()
        for name in browser.ORT_WEB_FILES:
            shutil.copyfile(ort_web / name, root / "ort" / name)
        for generator in generators:
            folder = root / "models" / generator.name
            folder.mkdir(parents=True)
            target = folder / "generator.onnx"
            shutil.copyfile(generator.path, target)
            data = target.read_bytes()
            entries.append({
                "name": generator.name,
                "variant": generator.metadata.variant,
                "url": f"models/{generator.name}/generator.onnx",
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            })
        index = browser.page_index(entries, runtime="ort/", server=False, version=browser.ort_web_version(ort_web))
        (root / browser.INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
        os.chmod(root, 0o755)  # mkdtemp makes it 0700: a web server running as another user could not read it
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    names = ", ".join(generator.name for generator in generators)
    print(f"zoo: wrote {out} ({names}; {size / 2**20:.0f} MB). Serve it with "
          f"`python -m http.server -d {out} 8000` and open http://127.0.0.1:8000/")
    return 0


def _check_out(out):
    """Refuses to replace a folder that is not empty and not a page written before."""
    from zoo.errors import ZooError
    from zoo.serving.browser import INDEX_FILE

    if not out.exists():
        return
    if not out.is_dir():
        raise ZooError(f"--out must be a folder. Received: --out {str(out)!r} (a file).")
    if not any(out.iterdir()):
        return
    try:
        index = json.loads((out / INDEX_FILE).read_text())
        written_before = isinstance(index, dict) and "format" in index and (out / "index.html").is_file()
    except (OSError, ValueError):
        written_before = False
    if not written_before:
        raise ZooError(
            f"--out holds files that `zoo page` did not write, and the folder would be replaced. "
            f"Received: --out {str(out)!r}. Pass a new or empty folder."
        )


def _open_models(texts, export):
    from zoo.commands.serve import parse_model
    from zoo.errors import ZooError
    from zoo.serving import OnnxGenerator

    if not texts:
        if not export.is_dir():
            raise ZooError(f"No models given and no export folder. Received: --export {str(export)!r}. Pass MODEL...")
        texts = [str(folder) for folder in sorted(export.iterdir()) if (folder / "generator.onnx").is_file()]
        if not texts:
            raise ZooError(f"No models given and {str(export)!r} holds no */generator.onnx. Pass MODEL...")
    generators = []
    for text in texts:
        name, model = parse_model(text)
        generators.append(OnnxGenerator(model, name=name))
    names = [generator.name for generator in generators]
    for name in names:
        if not _NAME.match(name):
            raise ZooError(
                f"A model name must be letters, digits, '.', '_' or '-'. Received: name={name!r}. Rename it with NAME=MODEL."
            )
    if len(set(names)) != len(names):
        raise ZooError(f"Two models share a name. Received: names={names}. Rename one with NAME=MODEL.")
    return generators
