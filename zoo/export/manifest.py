"""`manifest.json`: the one source of truth about an artifact folder.

It lists every file with its sha256 and size, the io ports, the opset, the
versions of the tools used, the generator's facts (its `GeneratorRecord` as
`record.to_dict()`, under `"model"`) and the parity figures. Model cards and the
hub read it; nothing parses it back out of a README. `manifest_record` is the
one reader of the `"model"` table.

Example:

>>> manifest = read_manifest("export/dcgan-fashion-mnist")
>>> manifest_record(manifest).latent_dim
64
"""

import json
import os

from zoo.errors import ZooError
from zoo.files import json_default, sha256_file
from zoo.hub.layout import MANIFEST as FILENAME
from zoo.record import GeneratorRecord

FORMAT_VERSION = 1


def tool_versions():
    """Returns the versions of the libraries an export depends on."""
    import importlib.metadata

    import keras
    import numpy
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    from zoo import __version__

    versions = {
        "zoo": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
    }
    for distribution, key in (("onnxconverter-common", "onnxconverter_common"), ("ai-edge-litert", "ai_edge_litert")):
        try:
            versions[key] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def file_entries(folder, exclude=(FILENAME,)):
    """Returns `{relative_path: {"sha256", "size"}}` for every file under `folder`."""
    entries = {}
    for root, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative in exclude:
                continue
            entries[relative] = {"sha256": sha256_file(path), "size": os.path.getsize(path)}
    return entries


def folder_paths(folder):
    """Relative paths of every file and symbolic link under `folder` (links to folders are not followed).

    Unlike `file_entries` it reads no file, so it is cheap on a large folder.
    """
    found = set()
    for root, directories, names in os.walk(folder):
        links = [name for name in directories if os.path.islink(os.path.join(root, name))]
        directories[:] = sorted(name for name in directories if name not in links)
        for name in names + links:
            found.add(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    return found


def build_manifest(folder, record, *, opset, parity, target="portable", tolerance, precision_errors=None, formats=None, onnx_graph=None):
    """Assembles the manifest dict for the artifact in `folder`.

    Args:
        folder: the (temporary) artifact folder, complete but for the manifest.
        record: the generator's `GeneratorRecord`.
        opset: the ONNX opset used.
        target: the ONNX export target (`zoo.export.targets`). Defaults to
            `"portable"`.
        parity: list of `ParityRow`s.
        tolerance: `{"atol", "rtol"}` of the parity gate.
        precision_errors: reduced-precision rows, reported but not gated.
        formats: `{format: relative path}` of the artifact's model files.
        onnx_graph: facts about the ONNX graph (op counts, rewrites).
    """
    from dataclasses import asdict

    return {
        "format_version": FORMAT_VERSION,
        "model": record.to_dict(),
        "io": record.io_ports(),
        "formats": formats or {},
        "opset": opset,
        "onnx_target": target,
        "versions": tool_versions(),
        "parity": {
            "tolerance": tolerance,
            "passed": all(row.passed for row in parity if row.gated),
            "rows": [_finite(asdict(row)) for row in parity if row.gated],
        },
        "reduced_precision": [_finite(asdict(row)) for row in (precision_errors or [])],
        "onnx_graph": onnx_graph or {},
        "test_data": {"folder": "test_data_set_0", "tolerance": {"atol": 1e-4, "rtol": 1e-4}},
        "files": file_entries(folder),
    }


def write_manifest(folder, manifest):
    """Writes `manifest` as `folder/manifest.json` (sorted keys, indented)."""
    path = os.path.join(folder, FILENAME)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(manifest, file, indent=2, sort_keys=True, allow_nan=False, default=json_default)
        file.write("\n")
    return path


def read_manifest(folder):
    """Reads `folder/manifest.json`; `ZooError` if the folder is not an artifact.

    Example:

    >>> read_manifest("export/my-dcgan")["opset"]
    17
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ZooError(f"No such export folder: {folder}. Pass a folder written by `zoo export`.")
    path = os.path.join(folder, FILENAME)
    if not os.path.isfile(path):
        raise ZooError(f"{folder} has no {FILENAME}; it is not a folder written by `zoo export`.")
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except (ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{FILENAME}: not valid JSON ({error}).") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ZooError(f"{FILENAME}: has no 'files' table; not a zoo export manifest.")
    return manifest


def manifest_record(manifest, source=FILENAME):
    """The `GeneratorRecord` of a manifest's `"model"` table (as any zoo version wrote it).

    Args:
        manifest: the dict of `read_manifest`.
        source: what to call the manifest in errors.

    Raises:
        ZooError: one line, if the table is missing or a fact is malformed.

    Example:

    >>> manifest_record(read_manifest("export/my-cgan")).num_classes
    10
    """
    return GeneratorRecord.from_dict(manifest.get("model"), source=source)


def _finite(row):
    """JSON has no infinity: non-finite errors (shape mismatch) become `None`."""
    import math

    return {key: (None if isinstance(value, float) and not math.isfinite(value) else value) for key, value in row.items()}
