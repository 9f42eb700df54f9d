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
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# Modules whose classes are saved inside `.keras` files (registered with
# `keras.saving.register_keras_serializable(package="zoo")`).
_SERIALIZABLE_MODULES = ("zoo.gan", "zoo.losses", "zoo.regularizers", "zoo.augment", "zoo.layers")

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY_ATTRIBUTES = {
    "GAN": "zoo.gan",
    "create": "zoo.registry",
    "list_variants": "zoo.registry",
    "register_variant": "zoo.registry",
    "get_variant": "zoo.registry",
    "ZooError": "zoo.errors",
    "pretrained": "zoo.hub",
    "list_pretrained": "zoo.hub",
}
_LAZY_MODULES = (
    "augment",
    "callbacks",
    "data",
    "export",
    "hub",
    "images",
    "latent",
    "layers",
    "losses",
    "metrics",
    "publish",
    "recipes",
    "regularizers",
    "training",
    "variants",
)


def _register_serializables():
    for module in _SERIALIZABLE_MODULES:
        importlib.import_module(module)


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Registers zoo's saved classes right after `keras` is first imported.

    `keras.saving.load_model("gan.keras")` only finds `zoo.GAN` if the module
    defining it was imported. Importing it eagerly here would import
    TensorFlow with `zoo` (and so with the ONNX-only `zoo.serving`); instead
    the registration runs as soon as the program imports Keras itself. The
    finder stays installed until Keras is actually executed: TensorFlow probes
    for Keras with `importlib.util.find_spec` before importing it.
    """

    def __init__(self):
        self._searching = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" or self._searching:
            return None
        self._searching = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching = False
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module
        finder = self

        def exec_module(module):
            load(module)
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)
            _register_serializables()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register_serializables()
else:
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())


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
