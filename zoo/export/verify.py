"""`verify_artifact`: re-checks an export folder from its own test vectors.

Every file listed in `manifest.json` must exist with the recorded size and
sha256, and onnxruntime and the SavedModel, run on `test_data_set_0`'s inputs,
must reproduce its expected outputs within 1e-4. Each failure is one line that
starts with the file at fault. A published folder (`zoo publish`) holds
`saved_model.zip` instead of `saved_model/`; it is replayed from a temporary
unzipped copy.
"""

import dataclasses
import os

import numpy as np

from zoo.errors import ZooError
from zoo.export import manifest as manifest_module
from zoo.export.signature import IMAGE_NAME
from zoo.files import sha256_file

TOLERANCE = 1e-4


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


def verify_artifact(folder, *, tolerance=TOLERANCE, runtimes=("onnxruntime", "savedmodel")):
    """Checks an artifact folder's hashes and replays its test vectors.

    Args:
        folder: a folder written by `export_generator` / `zoo export`.
        tolerance: `atol` and `rtol` for the replayed outputs. Defaults to `1e-4`.
        runtimes: which formats to run. Defaults to both onnxruntime and the
            SavedModel.

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
    folder = os.fspath(folder)
    report = VerifyReport(folder=folder)
    if os.path.isfile(os.path.join(folder, manifest_module.FILENAME)):
        try:
            manifest = manifest_module.read_manifest(folder)
        except ZooError as error:  # present but unreadable: a verification failure.
            report.failures.append(str(error))
            return report
    else:
        manifest = manifest_module.read_manifest(folder)  # raises: not an export folder.
    bad_files = _check_files(folder, manifest["files"], report)

    from zoo.export.test_vectors import FOLDER, load_test_vectors

    try:
        inputs, outputs = load_test_vectors(folder)
    except ZooError as error:
        if not any(name.startswith(FOLDER + "/") for name in bad_files):
            report.failures.append(str(error))
        return report
    if IMAGE_NAME not in outputs:
        report.failures.append(f"{FOLDER}/output_0.pb: holds '{next(iter(outputs))}', not 'image'.")
        return report
    expected = outputs[IMAGE_NAME]
    formats = manifest.get("formats") or {}
    for runtime in runtimes:
        key, default = {"onnxruntime": ("onnx", "generator.onnx"), "savedmodel": ("savedmodel", "saved_model")}[runtime]
        relative = formats.get(key, default)
        if runtime == "savedmodel" and formats and key not in formats and not os.path.exists(os.path.join(folder, default)):
            report.skipped.append(f"savedmodel: not shipped in this folder ({manifest.get('published', {}).get('saved_model', 'see manifest.json')})")
            continue
        try:
            actual = _run(runtime, os.path.join(folder, relative), inputs)
        except Exception as error:  # a corrupt file raises many types.
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            report.failures.append(f"{relative}: {runtime} could not run it ({first}).")
            continue
        if actual.shape != expected.shape or actual.dtype != np.float32:
            report.failures.append(
                f"{relative}: {runtime} returned {actual.dtype} {actual.shape}, expected float32 {expected.shape}."
            )
            continue
        error = np.abs(actual.astype(np.float64) - expected)
        report.errors[runtime] = float(error.max())
        if not (error <= tolerance + tolerance * np.abs(expected)).all():
            report.failures.append(
                f"{relative}: {runtime} output differs from {FOLDER}/output_0.pb "
                f"(max abs error {error.max():.3g} > {tolerance:g})."
            )
    return report


def _check_files(folder, files, report):
    bad = []
    for relative, entry in sorted(files.items()):
        path = os.path.join(folder, *relative.split("/"))
        report.files_checked += 1
        if not os.path.isfile(path):
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


def _run(runtime, path, inputs):
    from zoo.export import runtime as runtime_module

    if runtime == "onnxruntime":
        return runtime_module.run_onnx(runtime_module.onnx_session(path), inputs)
    if runtime == "savedmodel":
        if path.endswith(".zip"):  # a published folder ships saved_model/ zipped (`zoo publish`)
            return _run_zipped_saved_model(path, inputs)
        return runtime_module.run_saved_model(runtime_module.load_saved_model(path), inputs)
    raise ZooError(f"Unknown runtime '{runtime}'. Available: onnxruntime, savedmodel.")


def _run_zipped_saved_model(path, inputs):
    """Runs a `saved_model.zip` (holding `saved_model/...`) from a temporary folder."""
    import tempfile
    import zipfile

    from zoo.export import runtime as runtime_module

    with tempfile.TemporaryDirectory(prefix="zoo-verify-") as folder:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(folder)  # extractall drops absolute and ".." parts of names
        inner = os.path.join(folder, "saved_model")
        return runtime_module.run_saved_model(
            runtime_module.load_saved_model(inner if os.path.isdir(inner) else folder), inputs
        )
