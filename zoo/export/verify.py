"""`verify_artifact`: re-checks an export folder from its own test vectors.

The manifest is checked before anything it names is read (`zoo.hub.layout`):
every path is relative, normalised and inside the folder (no `..`, no
absolute path, no symbolic link that leads out of it); `formats` names the
standard files the runtimes load (`generator.onnx`, `generator.tflite`,
`generator.keras`, `saved_model/` or `saved_model.zip`), each listed and
hashed. Every listed file must exist with the recorded size and sha256, and a
file in the folder that the manifest does not list is a failure too. Then
onnxruntime, the SavedModel and (when the manifest lists it)
`generator.tflite` in `ai_edge_litert`'s interpreter, run on
`test_data_set_0`'s inputs, must reproduce its expected outputs within 1e-4;
nothing is run when the layout is unsafe. Each failure is one line that starts
with the file at fault.

A published folder (`zoo publish`) holds `saved_model.zip` instead of
`saved_model/`; it is replayed from a temporary unzipped copy. A hub cache
folder (`zoo.hub.download(name, "all")`) may also hold what the hub derived
from listed files: `saved_model/` unzipped from `saved_model.zip` (accepted
when it matches the zip member for member), or, where no SavedModel is
shipped, `saved_model/` rebuilt from `generator.keras` with the stamp
`saved_model.from` holding that file's sha256 (accepted, and replayed).
"""

import dataclasses
import os

import numpy as np

from zoo.errors import ZooError
from zoo.export import manifest as manifest_module
from zoo.record import IMAGE_NAME
from zoo.files import sha256_file
from zoo.hub import layout

TOLERANCE = 1e-4
MAX_EXTRA_LINES = 20
REBUILT_STAMP = "saved_model.from"
# runtime -> (manifest format, default file)
RUNTIME_FILES = {
    "onnxruntime": ("onnx", "generator.onnx"),
    "savedmodel": ("savedmodel", "saved_model"),
    "litert": ("litert", "generator.tflite"),
}


@dataclasses.dataclass
class VerifyReport:
    """What `verify_artifact` checked and found.

    Attributes:
        folder: the artifact folder.
        files_checked: number of files whose size and sha256 were checked.
        errors: `{format: max abs error}` of each runtime on the test vectors.
        failures: one line per problem, each starting with the file at fault.
        skipped: runtimes not checked because the folder does not ship them.
    """

    folder: str
    files_checked: int = 0
    errors: dict = dataclasses.field(default_factory=dict)
    failures: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)

    @property
    def passed(self):
        return not self.failures

    def __str__(self):
        lines = [f"{self.folder}: {self.files_checked} files checked against manifest.json"]
        for name, error in self.errors.items():
            lines.append(f"  {name}: max abs error {error:.2e} on test_data_set_0 (tolerance {TOLERANCE:g})")
        lines.extend(f"  skipped {reason}" for reason in self.skipped)
        lines.extend(f"  FAIL {failure}" for failure in self.failures)
        lines.append("verification passed" if self.passed else f"verification FAILED ({len(self.failures)} problems)")
        return "\n".join(lines)


def verify_artifact(folder, *, tolerance=TOLERANCE, runtimes=None):
    """Checks an artifact folder's hashes and replays its test vectors.

    Args:
        folder: a folder written by `export_generator` / `zoo export`, or a
            pretrained name (its verified cached publication folder).
        tolerance: `atol` and `rtol` for the replayed outputs. Defaults to `1e-4`.
        runtimes: which of `"onnxruntime"`, `"savedmodel"` and `"litert"` to
            run. Defaults to onnxruntime and the SavedModel, plus LiteRT when
            the manifest's formats list `litert` (`generator.tflite`).

    Returns:
        A `VerifyReport`; `report.passed` is False when anything is off, and
        `report.failures` names the files at fault.

    Raises:
        ZooError: when `folder` is not an export folder at all.

    Example:

    >>> report = verify_artifact("export/my-dcgan")
    >>> report.passed
    True
    """
    from zoo.loading import resolve_model

    folder = resolve_model(folder, "all", "a folder written by `zoo export`", missing="No such export folder")
    report = VerifyReport(folder=folder)
    if os.path.isfile(os.path.join(folder, manifest_module.FILENAME)):
        try:
            manifest = manifest_module.read_manifest(folder)
        except ZooError as error:  # present but unreadable: a verification failure.
            report.failures.append(str(error))
            return report
    else:
        manifest = manifest_module.read_manifest(folder)  # raises: not an export folder.
    layout_failures = layout.layout_failures(manifest)
    report.failures.extend(layout_failures)
    files = {
        relative: entry
        for relative, entry in manifest["files"].items()
        if layout.path_problem(relative) is None and relative != layout.MANIFEST and isinstance(entry, dict)
    }
    bad_files = _check_files(folder, files, report)
    rebuilt = _check_unlisted(folder, manifest, files, bad_files, report)
    if layout_failures:
        report.skipped.append("replay: manifest.json's layout is unsafe, so no model file was loaded")
        return report
    _replay(folder, manifest, bad_files, rebuilt, runtimes, tolerance, report)
    return report


def _replay(folder, manifest, bad_files, rebuilt, runtimes, tolerance, report):
    """Runs `test_data_set_0`'s inputs through each runtime and compares the outputs, into `report`."""
    from zoo.export.test_vectors import FOLDER, load_test_vectors

    try:
        inputs, outputs = load_test_vectors(folder)
    except ZooError as error:
        if not any(name.startswith(FOLDER + "/") for name in bad_files):
            report.failures.append(str(error))
        return
    if IMAGE_NAME not in outputs:
        report.failures.append(f"{FOLDER}/output_0.pb: holds '{next(iter(outputs))}', not 'image'.")
        return
    formats = layout.format_paths(manifest)
    if runtimes is None:
        runtimes = ("onnxruntime", "savedmodel") + (("litert",) if "litert" in formats else ())
    for runtime in runtimes:
        if runtime not in RUNTIME_FILES:
            raise ZooError(
                f"Unknown runtime {layout.clip_repr(runtime)}. Received: runtimes={layout.clip_repr(tuple(runtimes))}. "
                f"Available: {', '.join(RUNTIME_FILES)}."
            )
        key, default = RUNTIME_FILES[runtime]
        if runtime == "litert" and key not in formats:
            report.skipped.append("litert: this folder ships no generator.tflite (exported before LiteRT support)")
        elif runtime == "savedmodel" and key not in formats and not rebuilt:
            shipped = manifest.get("published", {}).get("saved_model", "see manifest.json")
            report.skipped.append(f"savedmodel: not shipped in this folder ({shipped})")
        else:
            _replay_one(runtime, formats.get(key, default), folder, inputs, outputs[IMAGE_NAME], tolerance, report)


def _replay_one(runtime, relative, folder, inputs, expected, tolerance, report):
    """Runs one runtime on the test inputs; records its error or a failure line in `report`."""
    from zoo.export.test_vectors import FOLDER

    try:
        actual = _run(runtime, os.path.join(folder, relative), inputs)
    except Exception as error:  # a corrupt file raises many types.
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        report.failures.append(f"{relative}: {runtime} could not run it ({first}).")
        return
    if actual.shape != expected.shape or actual.dtype != np.float32:
        report.failures.append(
            f"{relative}: {runtime} returned {actual.dtype} {actual.shape}, expected float32 {expected.shape}."
        )
        return
    error = np.abs(actual.astype(np.float64) - expected)
    report.errors[runtime] = float(error.max())
    if not (error <= tolerance + tolerance * np.abs(expected)).all():
        report.failures.append(
            f"{relative}: {runtime} output differs from {FOLDER}/output_0.pb "
            f"(max abs error {error.max():.3g} > {tolerance:g})."
        )


def _check_files(folder, files, report):
    """Checks each listed file's place, size and sha256; returns the paths that failed."""
    bad = []
    root = os.path.realpath(folder)
    for relative, entry in sorted(files.items()):
        path = os.path.join(folder, *relative.split("/"))
        report.files_checked += 1
        real = os.path.realpath(path)
        if os.path.lexists(path) and not _inside(real, root):
            report.failures.append(
                f"{relative}: leads outside the folder through a symbolic link (to {layout.clip(real)}); "
                "listed files must lie inside it."
            )
        elif os.path.isdir(path):
            report.failures.append(f"{relative}: is a folder, but manifest.json lists it as a file.")
        elif not os.path.isfile(path):
            report.failures.append(f"{relative}: missing.")
        elif os.path.getsize(path) != entry.get("size"):
            report.failures.append(
                f"{relative}: size {os.path.getsize(path)} != {entry.get('size')} in manifest.json (truncated or changed)."
            )
        elif sha256_file(path) != entry.get("sha256"):
            report.failures.append(f"{relative}: sha256 does not match manifest.json (file changed or corrupted).")
        else:
            continue
        bad.append(relative)
    return bad


def _check_unlisted(folder, manifest, files, bad_files, report):
    """Reports each file in `folder` that the manifest does not list; returns whether a rebuilt saved_model/ is accepted."""
    found = manifest_module.folder_paths(folder)
    derived, rebuilt = _derived(folder, manifest, files, bad_files, found, report)
    extra = sorted(found - set(files) - {layout.MANIFEST} - derived)
    for relative in extra[:MAX_EXTRA_LINES]:
        kind = "a symbolic link" if os.path.islink(os.path.join(folder, *relative.split("/"))) else "a file"
        report.failures.append(
            f"{layout.show(relative)}: not listed in manifest.json ({kind} the manifest does not vouch for: "
            "remove it, or export the folder again)."
        )
    if len(extra) > MAX_EXTRA_LINES:
        report.failures.append(
            f"{layout.show(extra[MAX_EXTRA_LINES])}: and {len(extra) - MAX_EXTRA_LINES - 1} more files "
            "not listed in manifest.json."
        )
    return rebuilt


def _derived(folder, manifest, files, bad_files, found, report):
    """`(paths the hub derived from listed files and that check out, whether saved_model/ is a rebuilt one)`."""
    prefix = layout.SAVED_MODEL_FOLDER + "/"
    target = os.path.join(folder, layout.SAVED_MODEL_FOLDER)
    if any(relative.startswith(prefix) for relative in files) or not os.path.isdir(target) or os.path.islink(target):
        return set(), False
    inside = {relative for relative in found if relative.startswith(prefix)}
    formats = layout.format_paths(manifest)
    if formats.get("savedmodel") == layout.SAVED_MODEL_ZIP:
        if layout.SAVED_MODEL_ZIP not in bad_files and not layout.zip_tree_matches(
            os.path.join(folder, layout.SAVED_MODEL_ZIP), target
        ):
            report.failures.append(
                f"{prefix}: differs from {layout.SAVED_MODEL_ZIP} (an unzipped copy that was changed: delete it; "
                "zoo.hub.download(name, format='savedmodel') extracts it again)."
            )
        return inside, False
    if "savedmodel" in formats:
        return set(), False
    keras_entry = files.get(formats.get("keras"))
    stamp = os.path.join(folder, REBUILT_STAMP)
    try:
        with open(stamp, encoding="utf-8") as file:
            stamped = file.read().strip()
    except (OSError, UnicodeDecodeError):
        return set(), False
    if not isinstance(keras_entry, dict) or stamped != keras_entry.get("sha256") or os.path.islink(stamp):
        return set(), False
    return inside | {REBUILT_STAMP}, True


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _run(runtime, path, inputs):
    from zoo import sessions
    from zoo.export import runtime as runtime_module

    if runtime == "onnxruntime":
        return runtime_module.run_onnx(sessions.onnx_session(path), inputs)
    if runtime == "savedmodel":
        if path.endswith(".zip"):  # a published folder ships saved_model/ zipped (`zoo publish`)
            return _run_zipped_saved_model(path, inputs)
        return runtime_module.run_saved_model(runtime_module.load_saved_model(path), inputs)
    if runtime == "litert":
        return runtime_module.run_litert(sessions.litert_interpreter(path), inputs)
    raise ZooError(f"Unknown runtime '{runtime}'. Available: {', '.join(RUNTIME_FILES)}.")


def _run_zipped_saved_model(path, inputs):
    """Runs a `saved_model.zip` (holding `saved_model/...`) from a temporary folder."""
    import tempfile
    import zipfile

    from zoo.export import runtime as runtime_module

    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as folder:
        with zipfile.ZipFile(path) as archive:
            for info, relative in layout.saved_model_members(archive, path):  # refuses names that leave the folder
                archive.extract(info, folder)
        return runtime_module.run_saved_model(
            runtime_module.load_saved_model(os.path.join(folder, layout.SAVED_MODEL_FOLDER)), inputs
        )
