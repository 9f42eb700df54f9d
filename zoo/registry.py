"""The variant registry: one decorator to join it, `create` to build from it."""

from zoo.errors import ZooError, unknown_name_error

_VARIANTS = {}

# Options of `zoo.GAN` itself that every variant passes through (`**gan_options`).
GAN_OPTIONS = ("seed", "ema_decay", "d_steps", "d_penalties", "augment")


def register_variant(name):
    """Registers a GAN variant's builder under `name`.

    The builder takes keyword configuration (`image_shape`, `latent_dim`, ...) and
    returns a `zoo.GAN`. Registering the same name twice is an error.

    Args:
        name: the variant's public name, e.g. `"dcgan"`.

    Example:

    >>> @register_variant("my_gan")
    ... def my_gan(image_shape=(28, 28, 1), latent_dim=64):
    ...     return zoo.GAN(build_g(...), build_d(...), latent_dim=latent_dim)
    """

    def decorator(builder):
        if name in _VARIANTS:
            raise ValueError(
                f"Variant '{name}' is already registered (by "
                f"{_VARIANTS[name].__module__}). Choose another name."
            )
        _VARIANTS[name] = builder
        return builder

    return decorator


def _load_builtin_variants():
    import zoo.variants  # noqa: F401  (registers the built-in variants)


def list_variants():
    """Returns the sorted names of all registered variants.

    Example:

    >>> zoo.list_variants()
    ['cgan', 'dcgan', 'mlp_gan']
    """
    _load_builtin_variants()
    return sorted(_VARIANTS)


def get_variant(name):
    """Returns the builder registered as `name`; a `ZooError` if there is none."""
    _load_builtin_variants()
    if name not in _VARIANTS:
        raise unknown_name_error("variant", name, _VARIANTS)
    return _VARIANTS[name]


def create(name, **config):
    """Builds the GAN variant `name` with the given configuration.

    Args:
        name: a registered variant name (see `list_variants()`).
        **config: the variant's options, e.g. `image_shape`, `latent_dim`,
            `num_classes`, and the base class's `seed`, `ema_decay`,
            `d_steps`. Unknown options are an error.

    Returns:
        An uncompiled `zoo.GAN`.

    Example:

    >>> gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=64)
    >>> gan.compile()
    """
    import inspect

    builder = get_variant(name)
    accepted = [
        parameter.name
        for parameter in inspect.signature(builder).parameters.values()
        if parameter.kind != inspect.Parameter.VAR_KEYWORD
    ] + list(GAN_OPTIONS)
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise ZooError(
            f"Variant '{name}' has no option {unknown[0]!r}. "
            f"Received: {unknown[0]}={config[unknown[0]]!r}. "
            f"Options: {', '.join(accepted)}."
        )
    return builder(**config)
