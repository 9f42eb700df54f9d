"""The variant registry: one record per GAN variant, `create` to build from it.

Each variant joins with one decorator that states its facts once (name, whether it
takes class labels, a one-line summary, its papers). Training, `zoo list`, model
cards and tests read those facts from the record instead of guessing them from the
builder's signature or docstring. This module imports nothing heavy.

Example:

>>> record = zoo.registry.variant_record("cgan")
>>> record.conditional, record.references
(True, ('Mirza & Osindero 2014, Conditional GANs, arXiv:1411.1784',))
"""

import dataclasses
import inspect
import types
import warnings
from typing import Any, Callable, Mapping, Tuple

from zoo.errors import ZooError, unknown_name_error

# name -> VariantRecord
_VARIANTS = {}

# Options of `zoo.GAN` itself that every variant passes through (`**gan_options`).
GAN_OPTIONS = ("seed", "ema_decay", "d_steps", "d_penalties", "augment")


@dataclasses.dataclass(frozen=True)
class VariantRecord:
    """The facts about one registered GAN variant.

    Attributes:
        name: the public name, e.g. `"dcgan"`.
        builder: the function that builds the (uncompiled) `zoo.GAN`.
        conditional: whether the variant takes class labels (`num_classes`).
        self_conditioning: whether it has the `clusters` option (Liu et al. 2020).
        summary: one line for `zoo list`.
        references: citations of the papers it implements, each
            `"<authors year, title>, arXiv:<id>"`, e.g.
            `("Radford, Metz & Chintala 2016, DCGAN, arXiv:1511.06434",)`.
        defaults: the builder's default options, a read-only mapping.
        options: every option name `create` accepts, the base `zoo.GAN` options
            (`GAN_OPTIONS`) included.

    Example:

    >>> zoo.registry.variant_record("dcgan").defaults["latent_dim"]
    64
    """

    name: str
    builder: Callable = dataclasses.field(repr=False)
    conditional: bool
    self_conditioning: bool
    summary: str
    references: Tuple[str, ...]
    defaults: Mapping[str, Any] = dataclasses.field(repr=False, hash=False)
    options: Tuple[str, ...] = dataclasses.field(repr=False)

    def reference_links(self):
        """Returns `[(title, url)]` for the references (url `None` without an arXiv id).

        Example:

        >>> zoo.registry.variant_record("dcgan").reference_links()
        [('Radford, Metz & Chintala 2016, DCGAN', 'https://arxiv.org/abs/1511.06434')]
        """
        links = []
        for citation in self.references:
            title, separator, arxiv_id = citation.rpartition(", arXiv:")
            links.append((title, f"https://arxiv.org/abs/{arxiv_id}") if separator else (citation, None))
        return links


def register_variant(
    name, *, conditional=None, summary=None, references=(), self_conditioning=False
):
    """Registers a GAN variant's builder under `name`, with its record.

    The builder takes keyword configuration (`image_shape`, `latent_dim`, ...) and
    returns a `zoo.GAN`; its default options and option names are read once from
    its signature. Registering the same name twice is an error.

    The old form `register_variant(name)`, without `conditional` and `summary`, is
    deprecated: it guesses them from the builder's signature and docstring.

    Args:
        name: the variant's public name, e.g. `"dcgan"`.
        conditional: whether the builder takes class labels (`num_classes`).
        summary: one line describing the variant, for `zoo list`.
        references: citations of the papers it implements, each
            `"<authors year, title>, arXiv:<id>"`.
        self_conditioning: whether the builder has the `clusters` option.

    Example:

    >>> @register_variant("my_gan", conditional=False, summary="a tiny GAN",
    ...                   references=("Goodfellow et al. 2014, arXiv:1406.2661",))
    ... def my_gan(image_shape=(28, 28, 1), latent_dim=64, **gan_options):
    ...     return zoo.GAN(build_g(...), build_d(...), latent_dim=latent_dim, **gan_options)
    """
    if (conditional is None) != (summary is None):
        raise TypeError(
            f"register_variant({name!r}) needs both conditional= and summary=. "
            f"Received: conditional={conditional!r}, summary={summary!r}."
        )
    if conditional is None:
        warnings.warn(
            f"register_variant({name!r}) without conditional= and summary= is "
            "deprecated; pass them (and references=) so the variant's facts are "
            "declared instead of guessed.",
            DeprecationWarning,
            stacklevel=2,
        )

    def decorator(builder):
        if name in _VARIANTS:
            raise ValueError(
                f"Variant '{name}' is already registered (by "
                f"{_VARIANTS[name].builder.__module__}). Choose another name."
            )
        if conditional is None:
            record = _guessed_record(name, builder)
        else:
            record = _declared_record(
                name, builder, conditional, summary, references, self_conditioning
            )
        _VARIANTS[name] = record
        return builder

    return decorator


def _builder_defaults(builder):
    """Returns `(defaults, options)` read from the builder's signature."""
    parameters = [
        parameter
        for parameter in inspect.signature(builder).parameters.values()
        if parameter.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    defaults = {
        parameter.name: parameter.default
        for parameter in parameters
        if parameter.default is not inspect.Parameter.empty
    }
    options = tuple(parameter.name for parameter in parameters) + GAN_OPTIONS
    return types.MappingProxyType(defaults), options


def _declared_record(name, builder, conditional, summary, references, self_conditioning):
    defaults, options = _builder_defaults(builder)
    for flag, value, option in (
        ("conditional", conditional, "num_classes"),
        ("self_conditioning", self_conditioning, "clusters"),
    ):
        if bool(value) != (option in options):
            raise ValueError(
                f"Variant '{name}' declares {flag}={value!r} but its builder "
                f"{'lacks' if value else 'has'} the {option!r} option. Fix one of them."
            )
    if isinstance(references, str):
        references = (references,)
    return VariantRecord(
        name=name,
        builder=builder,
        conditional=bool(conditional),
        self_conditioning=bool(self_conditioning),
        summary=str(summary),
        references=tuple(references),
        defaults=defaults,
        options=options,
    )


def _guessed_record(name, builder):
    """The record of a variant registered with the deprecated `register_variant(name)`."""
    import sys

    defaults, options = _builder_defaults(builder)
    # What `zoo list` used to show: the module docstring's first line, after "`name`: ".
    module = sys.modules.get(builder.__module__)
    docstring = getattr(module, "__doc__", None) or builder.__doc__ or ""
    lines = docstring.strip().splitlines()
    return VariantRecord(
        name=name,
        builder=builder,
        conditional="num_classes" in options,
        self_conditioning="clusters" in options,
        summary=lines[0].split(": ", 1)[-1] if lines else "",
        references=(),
        defaults=defaults,
        options=options,
    )


def _load_builtin_variants():
    import zoo.variants  # noqa: F401  (registers the built-in variants)


def variant_record(name):
    """Returns the `VariantRecord` registered as `name`; a `ZooError` if there is none.

    Example:

    >>> zoo.registry.variant_record("dcgan").self_conditioning
    True
    """
    _load_builtin_variants()
    if name not in _VARIANTS:
        raise unknown_name_error("variant", name, _VARIANTS)
    return _VARIANTS[name]


def variant_records():
    """Returns the records of all registered variants, sorted by name.

    Example:

    >>> [record.name for record in zoo.registry.variant_records() if record.conditional]
    ['cgan', 'projection_cgan']
    """
    _load_builtin_variants()
    return [_VARIANTS[name] for name in sorted(_VARIANTS)]


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
    return variant_record(name).builder


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
    record = variant_record(name)
    unknown = sorted(set(config) - set(record.options))
    if unknown:
        raise ZooError(
            f"Variant '{name}' has no option {unknown[0]!r}. "
            f"Received: {unknown[0]}={config[unknown[0]]!r}. "
            f"Options: {', '.join(record.options)}."
        )
    return record.builder(**config)
