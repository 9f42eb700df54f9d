"""Pretrained generators by name: the catalogue, verified downloads, a cache.

>>> import zoo
>>> [entry.name for entry in zoo.list_pretrained()]
['cgan-fashion-mnist', 'dcgan-fashion-mnist']
>>> g = zoo.pretrained("dcgan-fashion-mnist")                      # keras.Model, compile=False
>>> path = zoo.hub.download("cgan-fashion-mnist", format="onnx")    # verified local file
>>> path = zoo.hub.download("cgan-fashion-mnist", format="litert")  # generator.tflite, for phones
>>> gan = zoo.pretrained("cgan-fashion-mnist", format="gan")        # compiled zoo.GAN: fit continues it

The catalogue (`zoo/catalogue.json`, shipped in the package, written by `zoo
publish`) lists each name's files with their sha256 and size. Files come from a
source laid out like the repository's `export/` folder (`<base>/<name>/<file>`):

- `ZOO_HUB_URL`: `https://...`, `http://...`, `file:///...`, a URL template
  with `{name}`/`{file}`/`{asset}`, or `hf://OWNER/REPO` (needs
  `huggingface_hub`, which keeps nothing in its own cache: each file is
  downloaded to a temporary folder and copied into the zoo's cache once its
  sha256 is checked); without it, a source checkout uses its own `export/`
  and an installed wheel says in one line what to set
  (`sources.missing_source_message()`, also printed by `zoo list --pretrained`);
- `ZOO_CACHE`: the cache folder (default `~/.cache/keras-gan-zoo`);
- `ZOO_OFFLINE=1`: never use the network; files come from the cache or a
  local (`file://`, checkout) source, and a missing one is a one-line error;
- `ZOO_CATALOGUE`: read another catalogue file (a private hub).

Downloads are bounded (`zoo.hub.transfer`): `timeout=30` s to connect and get
the response head and for any silence, `min_rate=4096` bytes/s over each
`timeout` window, and an optional `deadline=` for the whole call; a SIGTERM or
Ctrl-C removes the temporary file, and one left by a killed process is removed
by the next download of that file. A downloaded `manifest.json` is checked like
`zoo verify` checks it (`zoo.hub.layout`).

Only stdlib is imported here; Keras loads in `pretrained()` only, so the
ONNX-only serving runtime can use `download` without TensorFlow. Publications made
since GAN files are shipped also list `gan.keras` (format `"gan"`: generator, EMA
generator, discriminator and optimizer state) for fine-tuning; older ones do not,
and asking one for it is a one-line error.
"""

from zoo.hub.catalogue import (
    Catalogue,
    FileEntry,
    PretrainedEntry,
    check_name,
    get_entry,
    list_pretrained,
    load_catalogue,
)
from zoo.hub.downloads import FORMATS, default_cache_dir, download, pretrained
from zoo.hub.sources import HubSource, resolve_source
from zoo.lazy import lazy_exports

__all__ = [
    "Catalogue",
    "FORMATS",
    "FileEntry",
    "HubSource",
    "PretrainedEntry",
    "check_name",
    "default_cache_dir",
    "download",
    "get_entry",
    "list_pretrained",
    "load_catalogue",
    "pretrained",
    "resolve_source",
]

# `Source` was renamed `HubSource` (`zoo.metrics.sources` has its own sources).
__getattr__, __dir__ = lazy_exports(__name__, {}, deprecated={"Source": ("zoo.hub", "HubSource")})
