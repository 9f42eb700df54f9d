"""Fine-tuning: a training run that starts from a pretrained GAN (`RunConfig.init_from`).

`init_from` names the GAN to start from: a catalogue name, whose `gan.keras`
(generator, EMA generator, discriminator, optimizer state) `zoo.hub` downloads
and checks against its sha256, or the path of a GAN `.keras` file (a run's
`model.keras`, a downloaded `gan.keras`); a name goes through `zoo.hub`,
imported only then. The run keeps the GAN's architecture,
weights and optimizer state (the optimizers' `iterations` go on from the saved
count) and trains it on the run's data set, which must hold images of the GAN's
shape (and, for a conditional GAN, as many classes). `zoo.training.train_run`
records the file's sha256 in `run.json`; an interrupted fine-tune resumes from
its run folder's backup like any run.

Example:

>>> source = resolve_init_from("cgan-fashion-mnist")   # or "runs/cgan/model.keras"
>>> source.sha256[:12]
'3f0c...'
>>> config = zoo.run_config.RunConfig("cgan", dataset="my_images/", init_from="cgan-fashion-mnist")
>>> gan, history = zoo.training.train_run(config, out="runs/my-cgan")
"""

import dataclasses
import json
import os
import zipfile

from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.hub.layout import clip_repr

# Compile options that change how `fit` runs, not the optimizers: applied to the GAN's own optimizers.
RUN_OPTIONS = ("jit_compile", "steps_per_execution", "run_eagerly")
_HINT = ", or the path of a GAN .keras file"


@dataclasses.dataclass(frozen=True)
class InitSource:
    """The GAN file a fine-tune starts from.

    Attributes:
        init_from: what the run was given (a pretrained name or a path).
        path: the local `.keras` file (for a name, the verified cached `gan.keras`).
        sha256: the file's sha256, recorded in `run.json`.
    """

    init_from: str
    path: str
    sha256: str


def resolve_init_from(init_from):
    """The `InitSource` of a pretrained name or a GAN file path, the name's file downloaded and checked.

    Raises:
        ZooError: one line for an unknown name (with a close one), a
            publication without a GAN file, or a path that does not exist.
    """
    path = _existing_path(init_from)
    if path is not None:
        return InitSource(init_from, path, sha256_file(path))
    from zoo import hub

    entry = _catalogue_entry(init_from)
    path = hub.download(entry.name, "gan")
    return InitSource(init_from, path, entry.files["gan"].sha256)


def init_variant(init_from):
    """The registered variant of the GAN `init_from` names, read without loading it (for `zoo train`).

    Raises:
        ZooError: one line when `init_from` names no GAN.
    """
    path = _existing_path(init_from)
    if path is None:
        return _catalogue_entry(init_from).variant
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ZooError(
            f"init_from: {path} is not a .keras file ({error}). Received: init_from={clip_repr(init_from)}. "
            "Pass a GAN .keras file (a run's model.keras, a gan.keras) or a pretrained name."
        ) from None
    variant = (config.get("config") or {}).get("variant") if isinstance(config, dict) else None
    if not variant:
        raise _not_a_gan(init_from, path, config.get("class_name") if isinstance(config, dict) else None)
    return variant


def load_initial_gan(source, config, info, distribution):
    """Loads the GAN of `source` for the run `config` on the data set `info`, checked and compiled.

    The GAN must be of `config.variant`, make images of the data set's shape
    and, if conditional, have as many classes. `config.compile_config`'s
    optimizers or loss, if given, replace the GAN's (new optimizer state);
    its other options (`jit_compile`, `steps_per_execution`) apply to the
    GAN's own optimizers.

    Raises:
        ZooError: one line for a file that is not a compiled GAN, another
            variant, a shape or class-count mismatch, or a `variant_config`.
    """
    from zoo.gan import GAN
    from zoo.loading import load_gan

    if config.variant_config:
        raise ZooError(
            "init_from takes the architecture from the GAN file; variant_config cannot change it. "
            f"Received: variant_config={clip_repr(dict(config.variant_config))}. Leave it (and --latent-dim) out."
        )
    try:
        with distribution.scope():
            gan = load_gan(source.path)
    except ZooError as error:
        raise ZooError(f"init_from: {error} Received: init_from={clip_repr(source.init_from)}.") from None
    if not isinstance(gan, GAN) or gan.g_optimizer is None:
        raise _not_a_gan(source.init_from, source.path, "an uncompiled GAN")
    check_fits(gan, source.init_from, config, info)
    _compile(gan, config.compile_config, distribution)
    return gan


def check_fits(gan, init_from, config, info):
    """Refuses a GAN of another variant, or one whose image shape or classes the data set does not match."""
    where = f"Received: init_from={clip_repr(init_from)}, dataset={clip_repr(config.dataset)}."
    if gan.variant != config.variant:
        raise ZooError(
            f"The GAN of init_from is a {gan.variant!r}, not a {config.variant!r}. {where} "
            f"Train variant {gan.variant!r} (or leave the variant out: `zoo train --init-from ...`)."
        )
    if tuple(gan.image_shape) != tuple(info.image_shape):
        raise ZooError(
            f"The GAN of init_from makes {_shape(gan.image_shape)} images, but the data set holds "
            f"{_shape(info.image_shape)} images. {where} Fine-tune on {_shape(gan.image_shape)} images "
            "(resize them), or train from scratch without init_from."
        )
    if gan.self_conditioned:
        raise ZooError(
            f"The GAN of init_from is self-conditioned (clusters of its own training images), which fine-tuning "
            f"cannot carry to new images. {where} Fine-tune an unconditional or conditional GAN."
        )
    if gan.num_classes is not None and gan.num_classes != info.num_classes:
        held = "no labels" if info.num_classes is None else f"{info.num_classes} classes"
        raise ZooError(
            f"The GAN of init_from is conditional on {gan.num_classes} classes, but the data set has {held}. "
            f"{where} Fine-tune on a folder with one subfolder per class, {gan.num_classes} of them."
        )


def recorded_options(gan):
    """What `run.json`'s `variant_config` records of a fine-tuned GAN: the facts the file fixed."""
    options = {"image_shape": tuple(gan.image_shape), "latent_dim": gan.latent_dim}
    if gan.num_classes is not None:
        options["num_classes"] = gan.num_classes
    if gan.ema_decay is not None:
        options["ema_decay"] = gan.ema_decay
    return options


def _compile(gan, compile_config, distribution):
    if not compile_config:
        return
    options = dict(compile_config)
    keep = {
        "g_optimizer": options.pop("g_optimizer", gan.g_optimizer),
        "d_optimizer": options.pop("d_optimizer", gan.d_optimizer),
        "loss": options.pop("loss", gan.loss_fn),
    }
    with distribution.scope():
        gan.compile(**keep, **options)


def _existing_path(init_from):
    path = os.path.expanduser(os.fspath(init_from))
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.keras")
        if not os.path.isfile(candidate):
            raise ZooError(
                f"init_from: {path} is a folder without model.keras. Received: init_from={clip_repr(init_from)}. "
                "Pass a GAN .keras file, a run folder or a pretrained name."
            )
        return candidate
    return path


def _catalogue_entry(init_from):
    from zoo import hub
    from zoo.hub.catalogue import NAME_PATTERN

    if not NAME_PATTERN.match(init_from):
        raise ZooError(
            f"init_from: no such file: {init_from}. Received: init_from={clip_repr(init_from)}. "
            "Pass a pretrained name (see `zoo list --pretrained`) or the path of a GAN .keras file."
        )
    try:
        return hub.load_catalogue().get(init_from, hint=_HINT)
    except ZooError as error:
        raise ZooError(f"init_from: {error}") from None


def _not_a_gan(init_from, path, held):
    what = f" (it holds {held})" if held else ""
    return ZooError(
        f"init_from: {path} is not a zoo GAN file{what}. Received: init_from={clip_repr(init_from)}. "
        "Pass a GAN .keras file (a run's model.keras, a published gan.keras: `zoo download NAME --format gan`), "
        "not a generator.keras."
    )


def _shape(shape):
    return "x".join(str(int(d)) for d in shape)
