"""The catalogue of published generators: name -> files, sha256, sizes, facts.

`zoo/catalogue.json` ships inside the package. `zoo publish` generates it from
`models/*/card.json` and `export/manifest.json` (never from a README), so the
hashes a user checks downloads against come with the code they installed, not
with the server they download from. `ZOO_CATALOGUE=/path/catalogue.json`
replaces it (a private hub, tests).

Each entry is a frozen `PretrainedEntry`: the generator's facts are one
`zoo.record.GeneratorRecord` (`entry.record`, read with
`GeneratorRecord.from_dict`), its files are `FileEntry`s. Catalogues written
before `zoo.record` spell the pixel range `value_range`; they still load.
"""

import dataclasses
import json
import math
import os
import re
import types
import warnings

from zoo import paths, settings
from zoo.errors import ZooError, did_you_mean
from zoo.hub import layout
from zoo.hub.layout import clip_repr
from zoo.record import GeneratorRecord

FORMAT_VERSION = 1
CATALOGUE_FILE = paths.CATALOGUE_FILE
PACKAGED_CATALOGUE = os.fspath(paths.packaged_catalogue())

NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NAME_LENGTH = 64
# Relative file paths inside an artifact folder: no "..", no absolute paths.
FILE_PATTERN = layout.FILE_PATTERN
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# Formats an entry may have, and the file each one names.
FILE_FORMATS = ("keras", "onnx", "savedmodel", "litert", "gan", "manifest")
# Not in every entry: a large SavedModel is not shipped (`zoo.hub.download(...,
# format="savedmodel")` rebuilds it); `litert` (generator.tflite) only in
# publications exported since LiteRT support; `gan` (gan.keras, the whole GAN for
# fine-tuning) only in publications made since it is shipped.
OPTIONAL_FORMATS = ("savedmodel", "litert", "gan")
# The pixel range's name, and the one catalogues written before `zoo.record` used.
RANGE_FIELDS = ("output_range", "value_range")

_WARNED = set()  # deprecated names already warned about


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One published file: its path inside `export/<name>/`, sha256 and size."""

    path: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class PretrainedEntry:
    """A published generator, as data.

    The generator's facts are one `zoo.record.GeneratorRecord`, `record`
    (the export manifest's `"model"` table); `latent_dim`, `image_shape`,
    `num_classes`, `class_names`, `variant`, `dataset`, `parameters` and
    `conditional` read it.

    Attributes:
        name: the public name, e.g. `"dcgan-fashion-mnist"`.
        description: one sentence.
        record: the generator's `GeneratorRecord`: latent size, image shape,
            classes and their names, output range, variant, data set,
            parameter count, ...
        files: read-only `{format: FileEntry}` for `keras`, `onnx`,
            `savedmodel` (a zip of the SavedModel folder), `litert`
            (`generator.tflite`, where published), `gan` (`gan.keras`: the
            whole GAN with its discriminator and optimizer state, where
            published) and `manifest`.
        test_vectors: `FileEntry`s of `test_data_set_0/`.
        metrics: read-only summary of the published evaluation (`fd`, `kid`,
            `precision`, `recall`, ..., `n`, `seed`, `command`); empty if none.
        training: read-only summary: `steps`, `images_seen`, `seconds`,
            `machine`, `command`.
        recipe: the recipe path in the repository (`models/<name>/recipe.toml`).
        card: the model card path in the repository.
        licence: licence of the weights.
        data_licence: licence of the training data.

    Example:

    >>> entry = zoo.hub.get_entry("cgan-fashion-mnist")
    >>> entry.record.output_range, entry.num_classes
    ((-1.0, 1.0), 10)
    """

    name: str
    description: str
    record: GeneratorRecord
    files: types.MappingProxyType
    test_vectors: tuple
    metrics: types.MappingProxyType
    training: types.MappingProxyType
    recipe: str
    card: str
    licence: str
    data_licence: str

    variant = property(lambda self: self.record.variant, doc="The registered variant that was trained.")
    dataset = property(lambda self: self.record.dataset, doc="The training data set.")
    latent_dim = property(lambda self: self.record.latent_dim, doc="Size of `z` (standard normal).")
    image_shape = property(lambda self: self.record.image_shape, doc="`(H, W, C)` of the output.")
    num_classes = property(lambda self: self.record.num_classes, doc="Number of classes, `None` if unconditional.")
    class_names = property(lambda self: self.record.class_names, doc="Tuple of class names, or `None`.")
    parameters = property(lambda self: self.record.parameters, doc="Parameter count of the generator.")
    conditional = property(lambda self: self.record.conditional, doc="Whether the generator takes labels.")

    @property
    def value_range(self):
        """Deprecated: use `entry.record.output_range`, the one name of the output pixels' `(low, high)`."""
        if "value_range" not in _WARNED:
            _WARNED.add("value_range")
            warnings.warn(
                "PretrainedEntry.value_range is deprecated; use entry.record.output_range instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        return self.record.output_range

    @property
    def version(self):
        """Short id of this publication: the first 12 hex digits of its manifest's sha256."""
        return self.files["manifest"].sha256[:12]

    @property
    def sizes(self):
        """`{format: bytes}` of the model files."""
        return {name: entry.size for name, entry in self.files.items() if name != "manifest"}

    def all_files(self):
        """Every published file of the entry (model files, manifest, test vectors)."""
        return tuple(self.files.values()) + tuple(self.test_vectors)

    def to_dict(self):
        """A JSON-ready dict (the catalogue's own format: the record's facts beside the other fields)."""
        table = {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}
        del table["name"]
        return {**table.pop("record"), **table}


class Catalogue:
    """The loaded catalogue: a read-only mapping of name -> `PretrainedEntry`."""

    def __init__(self, entries, path):
        self.entries = types.MappingProxyType(dict(sorted(entries.items())))
        self.path = path

    def names(self):
        return list(self.entries)

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries.values())

    def get(self, name, hint=""):
        """Returns the entry `name`; a one-line `ZooError` for a bad or unknown name."""
        check_name(name)
        if name in self.entries:
            return self.entries[name]
        available = ", ".join(self.entries) if self.entries else "none published yet"
        raise ZooError(
            f"Unknown pretrained generator {clip_repr(name)}. Received: name={clip_repr(name)}. "
            f"Available: {available}{hint}.{did_you_mean(name, self.entries)}"
        )


def check_name(name):
    """Returns `name` if it is a valid pretrained name; a `ZooError` otherwise.

    Names are lowercase letters and digits joined by single dashes, so a name
    can never point outside its folder (`..`, `/`, `\\`).
    """
    if not isinstance(name, str):
        raise TypeError(f"A pretrained name must be a string. Received: name of type {type(name).__name__}.")
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise ZooError(
            f"Invalid pretrained name. Received: name={clip_repr(name)}. Allowed: lowercase letters and digits "
            f"joined by single dashes, at most {MAX_NAME_LENGTH} characters (e.g. 'dcgan-fashion-mnist')."
        )
    return name


def catalogue_path(path=None):
    """The catalogue file to read: `path`, else `ZOO_CATALOGUE`, else the packaged one."""
    if path is not None:
        return os.path.abspath(os.fspath(path))
    return settings.catalogue() or PACKAGED_CATALOGUE


def load_catalogue(path=None):
    """Reads and validates the catalogue.

    Args:
        path: a catalogue JSON file. Defaults to `ZOO_CATALOGUE` or the
            packaged `zoo/catalogue.json`.

    Returns:
        A `Catalogue`. A missing packaged catalogue is an empty one.

    Raises:
        ZooError: for a file that is missing (when named), not JSON, or holds
            a malformed entry.
    """
    if isinstance(path, Catalogue):
        return path
    resolved = catalogue_path(path)
    if not os.path.isfile(resolved):
        if resolved == PACKAGED_CATALOGUE:
            return Catalogue({}, resolved)
        raise ZooError(f"No such catalogue file: {resolved}. Set ZOO_CATALOGUE to a catalogue.json written by `zoo publish`.")
    try:
        with open(resolved, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{resolved}: not a readable JSON catalogue ({error}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ZooError(f"{resolved}: has no 'models' table; not a zoo catalogue.")
    if data.get("format_version") != FORMAT_VERSION:
        raise ZooError(
            f"{resolved}: catalogue format_version {data.get('format_version')!r} is not supported "
            f"(this zoo reads {FORMAT_VERSION}). Upgrade keras-gan-zoo."
        )
    entries = {name: parse_entry(name, value, resolved) for name, value in data["models"].items()}
    return Catalogue(entries, resolved)


def list_pretrained(catalogue=None):
    """Returns the published generators as `PretrainedEntry`s, sorted by name.

    Each entry carries the name, variant, data set, metrics summary
    (`entry.metrics`), file sizes (`entry.sizes`) and everything else the
    catalogue records.

    Example:

    >>> for entry in zoo.list_pretrained():
    ...     print(entry.name, entry.variant, entry.metrics.get("fd"), entry.sizes["onnx"])
    """
    return list(load_catalogue(catalogue))


def get_entry(name, catalogue=None):
    """Returns the catalogue entry `name`; a one-line `ZooError` (with a close name) if unknown.

    Example:

    >>> zoo.hub.get_entry("dcgan-fashion-mnist").latent_dim
    64
    """
    return load_catalogue(catalogue).get(name)


def parse_entry(name, data, source="catalogue"):
    """Builds a `PretrainedEntry` from its catalogue dict, checking every field's type and range.

    The generator's facts become a `GeneratorRecord` (`GeneratorRecord.from_dict`);
    the pixel range may be spelt `output_range` or, as in catalogues written
    before `zoo.record`, `value_range`.

    Raises:
        ZooError: one line naming the entry and the field, e.g. "entry
            'dcgan-fashion-mnist': field 'latent_dim' must be an integer >= 1.
            Received: latent_dim='64' (str)."
    """
    where = f"{source}: entry {clip_repr(name)}"
    try:
        check_name(name)
    except (ZooError, TypeError) as error:
        raise ZooError(f"{where}: {error}") from None
    if not isinstance(data, dict):
        raise ZooError(f"{where}: not an object. Received: {type(data).__name__}.")
    fields = _Fields(data, where)
    files, test_vectors = _entry_files(fields, where)
    return PretrainedEntry(
        name=name,
        description=fields.text("description"),
        record=_entry_record(fields, where),
        files=types.MappingProxyType(files),
        test_vectors=test_vectors,
        metrics=types.MappingProxyType(fields.table("metrics")),
        training=types.MappingProxyType(fields.table("training")),
        recipe=fields.text("recipe"),
        card=fields.text("card"),
        licence=fields.text("licence"),
        data_licence=fields.text("data_licence"),
    )


class _Fields:
    """Reads typed fields of one catalogue entry, with one-line errors naming the field."""

    def __init__(self, data, where):
        self.data, self.where = data, where

    def bad(self, key, expected, value=None):
        shown = "missing" if key not in self.data else f"{clip_repr(value)} ({type(value).__name__})"
        return ZooError(f"{self.where}: field {key!r} must be {expected}. Received: {key}={shown}.")

    def field(self, key, kind, expected, optional=False):
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.bad(key, expected, value)
        return value

    def integer(self, key, minimum, optional=False):
        expected = f"an integer >= {minimum}" + (" or null" if optional else "")
        value = self.field(key, int, expected, optional)
        if value is not None and value < minimum:
            raise self.bad(key, expected, value)
        return value

    def text(self, key):
        return self.field(key, str, "a string")

    def table(self, key):
        return dict(self.field(key, dict, "an object"))


def _entry_files(fields, where):
    """`({format: FileEntry}, test vector FileEntrys)` of an entry, each path checked."""
    files_data = fields.field("files", dict, "an object of {format: {path, sha256, size}}")
    files = {}
    for format_name in FILE_FORMATS:
        if format_name in OPTIONAL_FORMATS and format_name not in files_data:
            continue
        if format_name not in files_data:
            raise ZooError(f"{where}: field 'files' has no {format_name!r} entry.")
        item = _file_entry(files_data[format_name], f"{where}: files.{format_name}")
        allowed = (layout.MANIFEST,) if format_name == "manifest" else _published_names(format_name)
        if item.path not in allowed:
            raise ZooError(
                f"{where}: files.{format_name}: path {item.path!r} is not the standard file "
                f"({' or '.join(allowed)})."
            )
        files[format_name] = item
    unknown = sorted(set(files_data) - set(FILE_FORMATS), key=str)
    if unknown:
        raise ZooError(
            f"{where}: field 'files' has an unknown format {clip_repr(unknown[0])}. "
            f"Allowed: {', '.join(FILE_FORMATS)}."
        )
    test_vectors = tuple(
        _file_entry(item, f"{where}: test_vectors[{index}]")
        for index, item in enumerate(fields.field("test_vectors", list, "a list of {path, sha256, size}"))
    )
    for index, item in enumerate(test_vectors):
        if not item.path.startswith("test_data_set_0/"):
            raise ZooError(f"{where}: test_vectors[{index}]: path {item.path!r} is not under test_data_set_0/.")
    listed = [item.path for item in files.values()] + [item.path for item in test_vectors]
    if len(set(listed)) != len(listed):
        twice = sorted(path for path in set(listed) if listed.count(path) > 1)[0]
        raise ZooError(f"{where}: the file {twice!r} is listed twice.")
    return files, test_vectors


def _entry_record(fields, where):
    """The entry's `GeneratorRecord`, after checking the JSON types of the facts a catalogue requires."""
    fields.text("variant")
    fields.text("dataset")
    fields.integer("latent_dim", 1)
    fields.integer("parameters", 1)
    image_shape = fields.field("image_shape", list, "a list of 3 integers >= 1 (H, W, C)")
    if len(image_shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in image_shape):
        raise fields.bad("image_shape", "a list of 3 integers >= 1 (H, W, C)", image_shape)
    range_expected = "a list of 2 finite numbers [low, high] with low < high"
    for key in [key for key in RANGE_FIELDS if key in fields.data] or RANGE_FIELDS[:1]:
        low_high = fields.field(key, list, range_expected)
        if (
            len(low_high) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in low_high)
            or not low_high[0] < low_high[1]
        ):
            raise fields.bad(key, range_expected, low_high)
    num_classes = fields.integer("num_classes", 1, optional=True)
    class_names = fields.field("class_names", list, "a list of strings or null", optional=True)
    if class_names is not None:
        expected = (
            "null for an unconditional entry (num_classes null)" if num_classes is None
            else f"a list of num_classes={num_classes} strings or null"
        )
        if num_classes is None or len(class_names) != num_classes or not all(isinstance(c, str) for c in class_names):
            raise fields.bad("class_names", expected, class_names)
    return GeneratorRecord.from_dict(fields.data, source=where)


def _published_names(format_name):
    """The file names a catalogue entry may give `format_name` (a SavedModel is shipped zipped)."""
    if format_name == "savedmodel":
        return (layout.SAVED_MODEL_ZIP,)
    return layout.STANDARD_FILES[format_name]


def _file_entry(data, where):
    if not isinstance(data, dict):
        raise ZooError(f"{where}: not an object with path, sha256 and size. Received: {type(data).__name__}.")
    path, sha256, size = data.get("path"), data.get("sha256"), data.get("size")
    if not isinstance(path, str) or not FILE_PATTERN.match(path):
        raise ZooError(f"{where}: bad path {clip_repr(path)} (relative, no '..').")
    if not isinstance(sha256, str) or not SHA256_PATTERN.match(sha256):
        raise ZooError(f"{where}: bad sha256 {clip_repr(sha256)} (64 lowercase hex digits).")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ZooError(f"{where}: bad size {clip_repr(size)} (a whole number of bytes >= 0).")
    return FileEntry(path=path, sha256=sha256, size=size)


def _plain(value):
    if isinstance(value, GeneratorRecord):
        return value.to_dict()
    if isinstance(value, FileEntry):
        return dataclasses.asdict(value)
    if isinstance(value, (dict, types.MappingProxyType)):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
