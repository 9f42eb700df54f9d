"""Finding the ONNX file of a generator given as a folder, a file or a name.

`find_pretrained` turns a pretrained name into a file through
`zoo.loading.resolve_model`, the resolver every command shares: it asks the hub
(`zoo.hub`, which imports neither TensorFlow nor Keras), so names resolve from
the packaged catalogue into the sha256-verified cache.
"""

import os
import pathlib
import warnings

from zoo.errors import ZooError

ONNX_FILE = "generator.onnx"
_WARNED = set()


def find_pretrained(name):
    """Returns the verified local ONNX file of the pretrained generator `name`.

    Args:
        name: a pretrained name such as `"cgan-fashion-mnist"`.

    Raises:
        ZooError: if the name is unknown or the file cannot be fetched.

    Example:

    >>> find_pretrained("cgan-fashion-mnist")
    PosixPath('~/.cache/keras-gan-zoo/cgan-fashion-mnist/.../generator.onnx')
    """
    from zoo.loading import resolve_model

    return pathlib.Path(resolve_model(name, "onnx", "an artifact folder or an .onnx file"))


def pretrained_names():
    """Names of the pretrained generators `find_pretrained` can resolve.

    Example:

    >>> pretrained_names()
    ['cgan-fashion-mnist', 'dcgan-fashion-mnist']
    """
    from zoo import hub

    return [entry.name for entry in hub.list_pretrained()]


def list_pretrained():
    """Deprecated: use `pretrained_names()`.

    Renamed because `zoo.list_pretrained()` (the hub's) returns catalogue
    entries, not names.
    """
    if "list_pretrained" not in _WARNED:
        _WARNED.add("list_pretrained")
        warnings.warn(
            "zoo.serving.list_pretrained() is deprecated; use zoo.serving.resolve.pretrained_names() "
            "(names) or zoo.list_pretrained() (catalogue entries).",
            DeprecationWarning,
            stacklevel=2,
        )
    return pretrained_names()


def resolve_onnx(model):
    """Returns `(onnx_path, default_name)` for a folder, an `.onnx` file or a name.

    Args:
        model: an artifact folder holding `generator.onnx`, a path to an `.onnx`
            file, or a pretrained name (see `find_pretrained`).

    Example:

    >>> resolve_onnx("export/cgan-fashion-mnist")
    (PosixPath('export/cgan-fashion-mnist/generator.onnx'), 'cgan-fashion-mnist')
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(
            "model must be a folder, an .onnx file or a pretrained name. "
            f"Received: model of type {type(model).__name__}."
        )
    path = pathlib.Path(model)
    if path.is_dir():
        onnx_path = path / ONNX_FILE
        if not onnx_path.is_file():
            raise ZooError(
                f"The folder holds no {ONNX_FILE}. Received: model={str(model)!r}. "
                "Pass an artifact folder written by `zoo export`, or an .onnx file."
            )
        return onnx_path, path.resolve().name
    if path.is_file():
        if path.suffix != ".onnx":
            raise ZooError(
                f"Expected an .onnx file. Received: model={str(model)!r}. "
                "Pass an artifact folder, an .onnx file or a pretrained name."
            )
        default_name = path.resolve().parent.name if path.name == ONNX_FILE else path.stem
        return path, default_name
    text = os.fspath(model)
    if text.endswith(".onnx") or os.sep in text or (os.altsep and os.altsep in text):
        raise ZooError(
            f"No such file or folder. Received: model={text!r}. "
            "Pass an artifact folder, an .onnx file or a pretrained name (`zoo list --pretrained` lists them)."
        )
    return pathlib.Path(find_pretrained(text)), text
