"""Verified downloads into the cache, and loading pretrained generators.

The cache mirrors the published layout, one folder per publication:

    $ZOO_CACHE/<name>/<version>/generator.keras
                               /generator.onnx
                               /generator.tflite  (LiteRT, where published)
                               /gan.keras         (the whole GAN, where published)
                               /saved_model.zip   (and saved_model/, unzipped)
                               /test_data_set_0/input_0.pb ...
                               /manifest.json

`<version>` is the first 12 hex digits of the publication's manifest sha256,
so a republished name never meets a stale file. A file enters the cache only
through a temporary sibling (`.NAME.part-*`) that is renamed after its size
and sha256 match the catalogue; a cached file is hashed again before every use
and deleted if it no longer matches. Time limits, signals and the clean-up of
temporaries left by a killed download are described in `zoo.hub.transfer`.
"""

import json
import os
import shutil
import sys
import zipfile
import zlib

from zoo import settings
from zoo.errors import ZooError, did_you_mean
from zoo.files import atomic_path, remove_path, sha256_file
from zoo.hub import catalogue as catalogue_module
from zoo.hub import layout, sources, transfer
from zoo.hub.layout import clip, clip_repr

FORMATS = ("keras", "onnx", "litert", "gan", "savedmodel", "test_vectors", "manifest", "all")
# The files a single-file format names in a catalogue entry.
_FILE_FORMATS = ("keras", "onnx", "litert", "gan")
# What `pretrained` loads: the generator (`keras`) or the whole GAN (`gan`).
PRETRAINED_FORMATS = ("keras", "gan")
SAVED_MODEL_FOLDER = layout.SAVED_MODEL_FOLDER
TEST_VECTORS_FOLDER = "test_data_set_0"


def default_cache_dir():
    """The cache folder: `ZOO_CACHE`, else `<user cache>/keras-gan-zoo` (`zoo.settings.cache_dir`)."""
    return settings.cache_dir()


def download(name, format="keras", *, source=None, cache_dir=None, timeout=transfer.DEFAULT_TIMEOUT,
             min_rate=transfer.DEFAULT_MIN_RATE, deadline=None, progress=None, catalogue=None):
    """Fetches a published generator's file into the cache and returns its path.

    Args:
        name: a pretrained name (see `list_pretrained()`).
        format: `"keras"`, `"onnx"`, `"litert"` (`generator.tflite`, for
            `ai_edge_litert` / LiteRT on phones), `"gan"` (`gan.keras`: the
            whole `zoo.GAN`, discriminator and optimizer state included, for
            fine-tuning; where published), `"savedmodel"` (the unzipped folder;
            built from the `.keras` file and checked against the test vectors
            when the publication does not ship one),
            `"test_vectors"` (the `test_data_set_0/` folder), `"manifest"` or
            `"all"` (the whole publication folder, which `zoo verify` accepts).
            Defaults to `"keras"`.
        source: where to download from (URL, URL template, `hf://OWNER/REPO`
            or folder). Defaults to `ZOO_HUB_URL`, else the checkout's
            `export/`.
        cache_dir: the cache folder. Defaults to `ZOO_CACHE`, else
            `~/.cache/keras-gan-zoo`.
        timeout: seconds the server may take to connect and send its
            response head, and the longest silence in a body. Defaults to `30`.
        min_rate: bytes/s a body must average over every `timeout`-second
            window (`0`: no minimum). Defaults to `4096`.
        deadline: seconds for the whole call, every file included, or `None`
            for no overall limit. Defaults to `None`.
        progress: show a progress bar; defaults to whether stderr is a terminal.
        catalogue: a catalogue path or `Catalogue`. Defaults to the packaged one.

    Returns:
        The local path (a file, or a folder for `savedmodel`, `test_vectors`
        and `all`).

    Raises:
        ZooError: one line for a bad or unknown name, a missing file, a
            connection failure, a server that stalls, is too slow or misses
            the deadline, a truncated transfer, a sha256 mismatch (the file is
            discarded), a manifest whose layout is unsafe or `ZOO_OFFLINE=1`
            without a cached copy. The temporary file is removed in every case,
            SIGTERM included (`zoo.hub.transfer`).

    Example:

    >>> path = zoo.hub.download("cgan-fashion-mnist", format="onnx")
    >>> path = zoo.hub.download("cgan-fashion-mnist", format="litert")  # generator.tflite
    >>> path = zoo.hub.download("cgan-fashion-mnist", format="gan")     # gan.keras, for fine-tuning
    """
    limits = transfer.check_limits(timeout, min_rate, deadline)
    entry = catalogue_module.load_catalogue(catalogue).get(name)
    if format not in FORMATS:
        raise ZooError(
            f"Unknown format {clip_repr(format)}. Received: format={clip_repr(format)}. "
            f"Available: {', '.join(FORMATS)}.{did_you_mean(clip(str(format)), FORMATS)}"
        )
    if format == "litert" and "litert" not in entry.files:  # published before LiteRT support
        available = [f for f in FORMATS if f in entry.files or f in ("savedmodel", "test_vectors", "all")]
        raise ZooError(
            f"'{name}' was published without generator.tflite (LiteRT). Received: format='litert'. "
            f"Available: {', '.join(available)}; `zoo export` of its generator.keras writes one."
        )
    if format == "gan" and "gan" not in entry.files:  # published before GAN files were shipped
        raise ZooError(
            f"'{name}' was published without its GAN file (gan.keras: generator, discriminator, optimizer state). "
            f"Received: format='gan'. Fine-tune from a publication that ships one, or from the run's model.keras "
            f"(`zoo train --init-from runs/.../model.keras`); `zoo publish` of a run ships it."
        )
    with transfer.terminate_cleanly():
        return _download(entry, format, _Fetcher(entry, source, cache_dir, limits, progress))


def _download(entry, format, fetcher):
    if format in _FILE_FORMATS:
        return fetcher.file(entry.files[format])
    if format == "manifest":
        return fetcher.manifest()
    if format == "savedmodel":
        if "savedmodel" not in entry.files:  # too large to ship: built here from the verified .keras
            return _rebuilt_saved_model(fetcher, entry)
        return _unzipped_saved_model(fetcher.file(entry.files["savedmodel"]), fetcher.folder)
    if format == "test_vectors":
        for item in entry.test_vectors:
            fetcher.file(item)
        return os.path.join(fetcher.folder, TEST_VECTORS_FOLDER)
    fetcher.manifest()
    for item in entry.all_files():
        fetcher.file(item)
    return fetcher.folder


def pretrained(name, format="keras", *, source=None, cache_dir=None, catalogue=None, timeout=transfer.DEFAULT_TIMEOUT,
               min_rate=transfer.DEFAULT_MIN_RATE, deadline=None):
    """Returns the published Keras generator `name` (or its whole GAN), downloaded once and verified.

    With `format="keras"` (the default) the model maps `z` float32
    `[batch, latent_dim]` (and `label` int `[batch]` for conditional models) to
    `image` float32 `[batch, H, W, C]` in [-1, 1]; it is loaded with
    `compile=False`. With `format="gan"` it is the compiled `zoo.GAN` of
    `gan.keras` (generator, EMA generator, discriminator, optimizer state), whose
    `fit` continues the published training: the optimizers' `iterations` go on
    from the saved count.

    Args:
        name: a pretrained name (see `list_pretrained()`).
        format: `"keras"` (the generator) or `"gan"` (the whole GAN, where
            published). Defaults to `"keras"`.
        source, cache_dir, catalogue, timeout, min_rate, deadline: as in `download`.

    Example:

    >>> g = zoo.pretrained("dcgan-fashion-mnist")
    >>> images = g(zoo.latent.sample_latent(16, 64, seed=0), training=False)  # [16, 28, 28, 1]
    >>> gan = zoo.pretrained("cgan-fashion-mnist", format="gan")
    >>> gan.fit(zoo.data.load("fashion_mnist", batch_size=64, with_labels=True), epochs=1)
    """
    entry = catalogue_module.load_catalogue(catalogue).get(name)
    if format not in PRETRAINED_FORMATS:
        raise ZooError(
            f"pretrained() loads the generator or the whole GAN. Received: format={clip_repr(format)}. "
            f"Available: {', '.join(PRETRAINED_FORMATS)} (zoo.hub.download fetches the other formats)."
            f"{did_you_mean(clip(str(format)), PRETRAINED_FORMATS)}"
        )
    path = download(name, format, source=source, cache_dir=cache_dir, catalogue=catalogue, timeout=timeout,
                    min_rate=min_rate, deadline=deadline)
    model = _load_gan(name, path) if format == "gan" else _load_generator(name, path)
    generator = model.inference_generator if format == "gan" else model
    shape = tuple(int(d) for d in generator.output.shape[1:])
    if shape != entry.image_shape or int(generator.count_params()) != entry.parameters:
        raise ZooError(
            f"The pretrained {'GAN' if format == 'gan' else 'generator'} '{name}' does not match its catalogue "
            f"entry (output {shape}, {generator.count_params()} parameters; catalogue: {entry.image_shape}, "
            f"{entry.parameters})."
        )
    return model


def _load_generator(name, path):
    import keras

    from zoo import keras_registration

    keras_registration.register()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a file it cannot read.
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ZooError(f"Could not load the pretrained generator '{name}' from {path} ({first}).") from error


def _load_gan(name, path):
    """The compiled `zoo.GAN` of a verified `gan.keras`."""
    from zoo.loading import load_gan

    gan = load_gan(path)
    if gan.g_optimizer is None:
        raise ZooError(
            f"The GAN file of '{name}' ({path}) was saved without its compile state, so `fit` cannot continue it; "
            "publish the run again."
        )
    return gan


class _Fetcher:
    """Fetches the files of one entry into its cache folder; resolves the source lazily."""

    def __init__(self, entry, source, cache_dir, limits, progress):
        self.entry = entry
        self.requested_source = source
        self.limits = limits
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        root = os.path.abspath(os.fspath(cache_dir)) if cache_dir is not None else default_cache_dir()
        self.folder = os.path.join(root, entry.name, entry.version)
        self._source = None

    def file(self, item):
        """Returns the verified cached path of `item`, downloading it if needed."""
        path = os.path.join(self.folder, *item.path.split("/"))
        transfer.clean_stale_parts(path)  # left by a download that was killed
        damaged = False
        if os.path.isfile(path):
            if _matches(path, item):
                return path
            remove_path(path)
            damaged = True
            print(f"zoo: the cached {path} did not match its sha256 and was deleted.", file=sys.stderr)
        source = self._resolve(item, path, damaged)
        self._transfer(source, item, path)
        return path

    def manifest(self):
        """Returns the verified cached `manifest.json` after checking that it agrees with the catalogue.

        The manifest is what `zoo verify` trusts, so it gets the same checks
        (`zoo.hub.layout`): safe relative paths, `formats` naming the standard
        files, each of them listed; and its files must be the catalogue's.
        """
        item = self.entry.files["manifest"]
        path = self.file(item)
        problem = _manifest_problem(path, self.entry)
        if problem is not None:
            raise ZooError(
                f"manifest.json of '{self.entry.name}' ({path}) does not describe a safe publication: {problem} "
                "The catalogue and the source disagree; nothing else was downloaded."
            )
        return path

    def _resolve(self, item, path, damaged):
        if self._source is None:
            try:
                self._source = sources.resolve_source(self.requested_source)
            except ZooError:
                if settings.offline():
                    raise self._offline_error(item, path, damaged, None) from None
                raise
        if settings.offline() and self._source.network:
            raise self._offline_error(item, path, damaged, self._source)
        return self._source

    def _offline_error(self, item, path, damaged, source):
        state = "was damaged (sha256 mismatch) and was deleted" if damaged else "is not in the cache"
        origin = f" from {clip(source.describe(), sources.URL_LIMIT)}" if source is not None else ""
        return ZooError(
            f"ZOO_OFFLINE=1 and {item.path} of '{self.entry.name}' {state} ({path}); "
            f"unset ZOO_OFFLINE to download it{origin}."
        )

    def _transfer(self, source, item, path):
        what = f"{item.path} of '{self.entry.name}'"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, temporary = transfer.create_part(path)
        except OSError as error:
            raise ZooError(
                f"Cannot write to the cache {os.path.dirname(path)} ({error.strerror or error}); "
                "set ZOO_CACHE to a writable folder."
            ) from None
        watchdog = transfer.Watchdog()
        try:
            with os.fdopen(handle, "wb") as out:
                stream, length, url = sources.open_stream(
                    source, self.entry.name, item.path, self.limits, watchdog, workdir=os.path.dirname(path)
                )
                shown = clip(url, sources.URL_LIMIT)
                with stream:
                    if length is not None and length != item.size:
                        raise ZooError(
                            f"{shown} is {length} bytes but the catalogue lists {item.size} for {what}; "
                            "the source holds another file. Nothing was cached."
                        )
                    received, digest = self._copy(stream, out, item, shown, what, watchdog)
                if received < item.size:
                    raise transfer.ended_early(what, shown, received, item.size)
                if received > item.size or digest != item.sha256:
                    raise ZooError(
                        f"{what} from {shown}: sha256 mismatch (expected {item.sha256[:16]}..., got {digest[:16]}...); "
                        "the file was discarded."
                    )
                out.flush()
                if transfer.renames_while_open():  # under the lock, so no cleaner takes it for a stale one
                    os.replace(temporary, path)
            if not transfer.renames_while_open():
                os.replace(temporary, path)
        except BaseException:
            remove_path(temporary)
            raise
        finally:
            watchdog.disarm()

    def _copy(self, stream, out, item, url, what, watchdog):
        bar = _progress_bar(item.size, f"{self.entry.name}/{item.path}") if self.progress else None
        try:
            return transfer.copy_body(stream, out, item.size, self.limits, watchdog, what, url, bar)
        finally:
            if bar is not None:
                bar.close()


def _manifest_problem(path, entry):
    """Why the cached manifest at `path` disagrees with `entry` or has an unsafe layout, or `None`."""
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return f"it is not readable JSON ({clip(str(error))})."
    if not isinstance(manifest, dict):
        return "it is not a JSON object."
    failures = layout.layout_failures(manifest)
    if failures:
        return failures[0]
    listed = {relative: (item["sha256"], item["size"]) for relative, item in manifest["files"].items()}
    published = {item.path: (item.sha256, item.size) for item in entry.all_files() if item.path != layout.MANIFEST}
    for relative in sorted(set(listed) | set(published)):
        if relative not in published:
            return f"{layout.show(relative)}: listed in manifest.json but not in the catalogue entry."
        if relative not in listed:
            return f"{relative}: in the catalogue entry but not listed in manifest.json."
        if listed[relative] != published[relative]:
            return f"{relative}: manifest.json and the catalogue give it different sha256/size."
    formats = layout.format_paths(manifest)
    for key, item in entry.files.items():
        if key != "manifest" and formats.get(key) != item.path:
            return f"{item.path}: the catalogue's {key} file is not formats.{key} of manifest.json."
    return None


def _matches(path, item):
    return os.path.getsize(path) == item.size and sha256_file(path) == item.sha256


def _progress_bar(total, description):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description, leave=False, file=sys.stderr)


def _unzipped_saved_model(zip_path, folder):
    """Returns `folder/saved_model/`, (re-)extracted from the verified zip unless it matches it."""
    target = os.path.join(folder, SAVED_MODEL_FOLDER)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = layout.saved_model_members(archive, zip_path)
            if os.path.isdir(target) and layout.tree_matches(target, members):
                return target
            with atomic_path(target, directory=True) as temporary:
                for info, relative in members:
                    destination = os.path.join(temporary, *relative.split("/"))
                    if info.is_dir():
                        os.makedirs(destination, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(destination), exist_ok=True)
                    with archive.open(info) as source, open(destination, "wb") as out:
                        shutil.copyfileobj(source, out)
    except (zipfile.BadZipFile, zlib.error) as error:
        raise ZooError(f"{zip_path} is not a readable zip ({error}); delete it and download again.") from None
    return target


def _rebuilt_saved_model(fetcher, entry, tolerance=1e-4):
    """Returns `folder/saved_model/` built from the verified `.keras` generator.

    Publications whose SavedModel zip would be large do not ship it
    (`zoo publish`): the SavedModel is exported here the way `zoo export` does
    it and must reproduce the publication's test vectors before it is kept.
    """
    keras_path = fetcher.file(entry.files["keras"])
    for item in entry.test_vectors:
        fetcher.file(item)
    target = os.path.join(fetcher.folder, SAVED_MODEL_FOLDER)
    stamp = os.path.join(fetcher.folder, SAVED_MODEL_FOLDER + ".from")
    source_hash = entry.files["keras"].sha256
    if os.path.isdir(target) and os.path.isfile(stamp):
        with open(stamp, encoding="utf-8") as file:
            if file.read().strip() == source_hash:
                return target
    import keras
    import numpy as np

    import zoo.variants  # noqa: F401  (registers the zoo's serializable classes)
    from zoo.export import runtime, tracing
    from zoo.export.signature import IMAGE_NAME, resolve_generator
    from zoo.export.test_vectors import load_test_vectors
    from zoo.files import write_bytes_atomically

    info = resolve_generator(keras.saving.load_model(keras_path, compile=False))
    inputs, outputs = load_test_vectors(fetcher.folder)
    with atomic_path(target, directory=True) as temporary:
        traced = tracing.export_copy(info.generator)
        tracing.save_saved_model(traced, tracing.serving_function(traced, info.record), temporary)
        image = runtime.run_saved_model(runtime.load_saved_model(temporary), inputs)
        error = float(np.max(np.abs(image.astype(np.float64) - outputs[IMAGE_NAME])))
        if not error <= tolerance:
            raise ZooError(
                f"The SavedModel rebuilt from {keras_path} misses the test vectors by {error:.2e} "
                f"(tolerance {tolerance:g}); delete the cache folder {fetcher.folder} and download again."
            )
    write_bytes_atomically(stamp, source_hash.encode())
    return target
