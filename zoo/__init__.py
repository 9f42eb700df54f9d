"""keras-gan-zoo: GANs in Keras 3 whose generators ship as verified artifacts.

Importing `zoo` is cheap: TensorFlow and Keras are loaded only when a name that needs
them is first used, so `zoo.serving` (onnxruntime only) never pulls TensorFlow in.

Example:

>>> import zoo
>>> zoo.list_variants()
['cgan', 'dcgan', 'mlp_gan']
>>> gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=64)
"""

import importlib

__version__ = "0.1.0"

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY_ATTRIBUTES = {
    "GAN": "zoo.gan",
    "create": "zoo.registry",
    "list_variants": "zoo.registry",
    "register_variant": "zoo.registry",
    "get_variant": "zoo.registry",
    "ZooError": "zoo.errors",
}
_LAZY_MODULES = (
    "augment",
    "callbacks",
    "data",
    "export",
    "images",
    "latent",
    "losses",
    "metrics",
    "recipes",
    "regularizers",
    "training",
    "variants",
)


def __getattr__(name):
    if name in _LAZY_ATTRIBUTES:
        module = importlib.import_module(_LAZY_ATTRIBUTES[name])
        return getattr(module, name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute '{name}'")


def __dir__():
    return sorted(
        list(globals()) + list(_LAZY_ATTRIBUTES) + list(_LAZY_MODULES)
    )
