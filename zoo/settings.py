"""The environment variables the zoo reads, each parsed in one place.

| variable | function | meaning |
|---|---|---|
| `ZOO_OFFLINE` | `offline()` | `1`: no network; caches and local files only |
| `ZOO_CACHE` | `cache_dir()` | where downloads are cached (else `XDG_CACHE_HOME`, `%LOCALAPPDATA%` or `~/.cache`, then `keras-gan-zoo`) |
| `ZOO_HUB_URL` | `hub_url()` | where the published `export/` is hosted (URL, URL template, `hf://` or folder) |
| `ZOO_CATALOGUE` | `catalogue()` | a catalogue JSON file to read instead of the packaged one |
| `ZOO_DATA_DIR` | `data_dir()` | a folder holding the named data sets' files |
| `ZOO_CLASSIFIERS_DIR` | `classifiers_dir()` | a folder of `<dataset>/classifier.keras` searched first |
| `ZOO_ORT_WEB` | `ort_web()` | onnxruntime-web's `dist/` folder for the browser page (`none`: do without) |
| `KERAS_HOME` | `keras_home()` | Keras' own folder, searched for downloaded weights |
| `KERAS_BACKEND` | `keras_backend()` | the Keras backend Keras will use (else `keras.json`'s, else `tensorflow`); the zoo needs `tensorflow` |

Every function reads the environment when called (so a changed variable takes
effect at once) and treats an empty or blank value as unset.

Example:

```python
import zoo.settings

if zoo.settings.offline():
    print("no downloads; cache:", zoo.settings.cache_dir())
```
"""

import os

OFFLINE = "ZOO_OFFLINE"
CACHE = "ZOO_CACHE"
HUB_URL = "ZOO_HUB_URL"
CATALOGUE = "ZOO_CATALOGUE"
DATA_DIR = "ZOO_DATA_DIR"
CLASSIFIERS_DIR = "ZOO_CLASSIFIERS_DIR"
ORT_WEB = "ZOO_ORT_WEB"
KERAS_HOME = "KERAS_HOME"
KERAS_BACKEND = "KERAS_BACKEND"

CACHE_FOLDER_NAME = "keras-gan-zoo"


def _value(name):
    """The stripped value of `name`, or `None` when unset or blank."""
    return os.environ.get(name, "").strip() or None


def _folder(name):
    """The value of `name` as an absolute path (`~` expanded), or `None`."""
    value = _value(name)
    return os.path.abspath(os.path.expanduser(value)) if value is not None else None


def offline():
    """Whether `ZOO_OFFLINE=1`: no network; the caches and local files only."""
    return _value(OFFLINE) == "1"


def cache_dir():
    """The download cache: `ZOO_CACHE`, else `<user cache>/keras-gan-zoo`.

    The user cache is `XDG_CACHE_HOME` or `~/.cache` (`%LOCALAPPDATA%` on Windows).
    """
    override = _folder(CACHE)
    if override is not None:
        return override
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = os.environ["LOCALAPPDATA"]
    else:
        base = _value("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, CACHE_FOLDER_NAME)


def hub_url():
    """`ZOO_HUB_URL` as given (a URL, URL template, `hf://` address or folder), or `None`."""
    return _value(HUB_URL)


def catalogue():
    """`ZOO_CATALOGUE` as an absolute path, or `None` (read the packaged catalogue)."""
    return _folder(CATALOGUE)


def data_dir():
    """`ZOO_DATA_DIR` as an absolute path, or `None`."""
    return _folder(DATA_DIR)


def classifiers_dir():
    """`ZOO_CLASSIFIERS_DIR` as an absolute path, or `None`."""
    return _folder(CLASSIFIERS_DIR)


def ort_web():
    """`ZOO_ORT_WEB` as given (a folder, or `none` to do without), or `None`."""
    return _value(ORT_WEB)


def keras_home():
    """`KERAS_HOME` (Keras' own folder) as an absolute path, or `None`."""
    return _folder(KERAS_HOME)


def keras_backend():
    """The Keras backend Keras will load, found the way Keras finds it, without importing Keras.

    `keras.config.backend()` once Keras is imported; before that `KERAS_BACKEND`,
    else the `"backend"` of `keras.json` in `KERAS_HOME` (or `~/.keras`), else
    `"tensorflow"`.
    """
    import sys

    keras = sys.modules.get("keras")
    if keras is not None and hasattr(getattr(keras, "config", None), "backend"):
        return keras.config.backend()
    value = _value(KERAS_BACKEND)
    if value is not None:
        return value
    folder = keras_home() or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        import json

        with open(os.path.join(folder, "keras.json")) as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return backend.strip() if isinstance(backend, str) and backend.strip() else "tensorflow"
