"""The layout of a published folder: safe relative paths, the files each runtime loads.

`zoo verify` (`zoo.export.verify`) and the hub (`zoo.hub.downloads`) read a
folder's `manifest.json` through the same rules, so neither ever hashes, loads
or trusts a file the manifest does not vouch for:

- every path in `files` and `formats` is relative, normalised and stays inside
  the folder: no absolute path, drive, backslash, `.` or `..` part, empty
  part or control character;
- `formats` is a table whose `keras`, `onnx`, `litert`, `savedmodel` and
  `gan` entries name the standard files (`generator.keras`, `generator.onnx`,
  `generator.tflite`, `saved_model/` or `saved_model.zip`, and `gan.keras`:
  the whole GAN for fine-tuning, which no runtime replays); `keras` and
  `onnx` are always there; every entry (standard or not, e.g. a reduced
  precision `generator.fp16.onnx`) names a file listed in `files`, or for
  `saved_model` a folder whose `saved_model.pb` is listed;
- every `files` entry has a 64-hex-digit sha256 and a non-negative size.

Messages start with the file at fault, as `zoo verify` prints them. Only the
standard library is used (the hub runs without NumPy or TensorFlow).
"""

import os
import re
import zipfile
import zlib

MANIFEST = "manifest.json"
SAVED_MODEL_FOLDER = "saved_model"
SAVED_MODEL_ZIP = "saved_model.zip"
# The whole GAN (generator, EMA generator, discriminator, optimizer state) of a publication.
GAN_FILE = "gan.keras"
# format -> the file names it may point at.
STANDARD_FILES = {
    "keras": ("generator.keras",),
    "onnx": ("generator.onnx",),
    "litert": ("generator.tflite",),
    "savedmodel": (SAVED_MODEL_FOLDER, SAVED_MODEL_ZIP),
    "gan": (GAN_FILE,),
}
REQUIRED_FORMATS = ("keras", "onnx")
# Relative file paths the catalogue and zip members may use: no "..", no absolute paths, plain characters.
FILE_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ECHO_LIMIT = 100


def clip(text, limit=ECHO_LIMIT):
    """Returns `text` cut to `limit` characters with an ellipsis, for echoing user input in one-line errors.

    Example:

    >>> clip("x" * 60000)[-30:]
    'xxxxx... (60000 characters)'
    """
    text = text if isinstance(text, str) else repr(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def clip_repr(value, limit=ECHO_LIMIT):
    """`repr(value)` for a one-line error, a long string cut to its first `limit` characters.

    Example:

    >>> clip_repr("x" * 60000)[-28:]
    "xx'... (60000 characters)"
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return clip(repr(value), limit)


def path_problem(path):
    """Why `path` is not a safe relative path inside a folder, or `None` when it is one.

    Example:

    >>> path_problem("../../etc/passwd")
    "has a '..' part (it would leave the folder)"
    """
    if not isinstance(path, str):
        return f"is a {type(path).__name__}, not a path string"
    if not path:
        return "is empty"
    if _CONTROL.search(path):
        return "holds a control character"
    if "\\" in path:
        return "holds a backslash (use '/')"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "is absolute (paths must be relative to the folder)"
    parts = path.split("/")
    if ".." in parts:
        return "has a '..' part (it would leave the folder)"
    if "." in parts or "" in parts:
        return "is not normalised (a '.' or empty part)"
    return None


def show(path):
    """A path as it is named at the start of a failure line (clipped, `repr` when odd)."""
    if isinstance(path, str) and path_problem(path) is None:
        return clip(path)
    return clip_repr(path)


def layout_failures(manifest):
    """Checks a manifest's `files` and `formats` tables; returns one line per problem.

    Args:
        manifest: the parsed `manifest.json` dict (with a `files` dict).

    Returns:
        A list of one-line failures, each starting with the file at fault;
        empty when the layout is sound.
    """
    failures = []
    files = manifest.get("files")
    if not isinstance(files, dict):
        return [f"{MANIFEST}: has no 'files' table."]
    for relative, entry in files.items():
        problem = path_problem(relative)
        if problem is not None:
            failures.append(f"{show(relative)}: listed in {MANIFEST} with a path that {problem}.")
            continue
        if relative == MANIFEST:
            failures.append(f"{MANIFEST}: lists itself in 'files' (a file cannot hold its own sha256).")
            continue
        if not isinstance(entry, dict):
            failures.append(f"{relative}: its {MANIFEST} entry is not an object with 'sha256' and 'size'.")
            continue
        sha256, size = entry.get("sha256"), entry.get("size")
        if not isinstance(sha256, str) or not SHA256.match(sha256):
            failures.append(f"{relative}: bad sha256 {clip_repr(sha256)} in {MANIFEST} (64 lowercase hex digits).")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            failures.append(f"{relative}: bad size {clip_repr(size)} in {MANIFEST} (a whole number of bytes >= 0).")
    formats = manifest.get("formats")
    if not isinstance(formats, dict):
        failures.append(f"{MANIFEST}: has no 'formats' table (which files the runtimes load).")
        return failures
    for key in REQUIRED_FORMATS:
        if key not in formats:
            failures.append(f"{STANDARD_FILES[key][0]}: {MANIFEST} 'formats' has no {key!r} entry for it.")
    for key, relative in formats.items():
        failures.extend(_format_failures(str(key), relative, files))
    return failures


def _format_failures(key, relative, files):
    problem = path_problem(relative)
    if problem is not None:
        return [f"{show(relative)}: formats.{clip(key)} in {MANIFEST} has a path that {problem}."]
    standard = STANDARD_FILES.get(key)
    if standard is not None and relative not in standard:
        return [
            f"{relative}: formats.{key} in {MANIFEST} must be {' or '.join(standard)}, "
            f"not {relative!r} (the runtimes load the standard file)."
        ]
    if relative in files:
        return []
    if relative == SAVED_MODEL_FOLDER and f"{SAVED_MODEL_FOLDER}/saved_model.pb" in files:
        return []
    return [f"{relative}: formats.{clip(key)} in {MANIFEST} points at it, but 'files' does not list it (not hashed)."]


def format_paths(manifest):
    """`{format: relative path}` of the manifest's formats (after `layout_failures` found none)."""
    formats = manifest.get("formats")
    return dict(formats) if isinstance(formats, dict) else {}


def saved_model_members(archive, zip_path):
    """`[(ZipInfo, path inside saved_model/)]` of a `saved_model.zip`; `ZooError` for a name that leaves the folder."""
    from zoo.errors import ZooError

    members = []
    prefix = SAVED_MODEL_FOLDER + "/"
    for info in archive.infolist():
        name = info.filename
        relative = name[len(prefix):] if name.startswith(prefix) else None
        if relative == "":
            continue
        stripped = relative.rstrip("/") if relative is not None else None
        if not stripped or not FILE_PATTERN.match(stripped):
            raise ZooError(
                f"{zip_path}: unexpected member {clip_repr(name)}; a saved_model.zip holds saved_model/... only."
            )
        members.append((info, stripped))
    return members


def tree_matches(folder, members):
    """Whether `folder` holds exactly the zip's files (no more), with the same sizes and CRC-32s."""
    expected = {relative: info for info, relative in members if not info.is_dir()}
    found = set()
    for root, directories, files in os.walk(folder):
        found.update(
            os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            for name in files + [d for d in directories if os.path.islink(os.path.join(root, d))]
        )
    if found != set(expected):
        return False
    for relative, info in expected.items():
        path = os.path.join(folder, *relative.split("/"))
        if os.path.islink(path) or os.path.getsize(path) != info.file_size or crc32(path) != info.CRC:
            return False
    return True


def zip_tree_matches(zip_path, folder):
    """Whether `folder` is an unchanged unzipped copy of the `saved_model.zip` at `zip_path`."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return tree_matches(folder, saved_model_members(archive, zip_path))
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error):
        return False


def crc32(path):
    """The CRC-32 of the file at `path`, as zip records it."""
    value = 0
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            value = zlib.crc32(chunk, value)
    return value & 0xFFFFFFFF
