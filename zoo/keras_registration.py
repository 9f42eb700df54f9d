"""Registers zoo's saved classes with Keras as soon as Keras is imported.

`keras.saving.load_model("gan.keras")` finds `zoo.GAN` (saved as
`"registered_name": "zoo>GAN", "module": "zoo.gan"`) only if `zoo.gan` was
imported: Keras 3 looks the name up in the classes registered with
`keras.saving.register_keras_serializable`, and imports a saved `"module"` only
for its own packages (`keras`, `keras_hub`, `keras_cv`, `keras_nlp`; see
`keras.src.saving.serialization_lib._retrieve_class_or_fn`). Keras declares no
hook for other packages, and Python declares no "after module X is imported"
hook. Registering at `import zoo` would import Keras, and with it TensorFlow,
into `zoo` and the ONNX-only `zoo.serving`.

So `install()`, called once by `import zoo`, registers at once when Keras is
already imported and otherwise puts `_RegisterWhenKerasLoads` on
`sys.meta_path` (Python's documented import hook): it finds `keras` like the
default finders do and registers right after Keras' own module has run. This
keeps `import zoo, keras; keras.saving.load_model("gan.keras")` working, as
every `.keras` file saved by the zoo relies on it. `register()` does the same
explicitly, for code that wants it regardless of import order.

Example:

```python
import zoo.keras_registration

zoo.keras_registration.register()   # imports Keras; zoo's classes are now known to it
```
"""

import importlib
import importlib.abc
import importlib.util
import sys

# Modules whose classes are saved inside `.keras` files (registered with
# `keras.saving.register_keras_serializable(package="zoo")`).
SERIALIZABLE_MODULES = ("zoo.gan", "zoo.losses", "zoo.regularizers", "zoo.augment", "zoo.layers")


def register():
    """Imports the modules that register zoo's saved classes with Keras."""
    for module in SERIALIZABLE_MODULES:
        importlib.import_module(module)


def install():
    """Registers now if Keras is imported, else as soon as Keras is imported."""
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _RegisterWhenKerasLoads) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterWhenKerasLoads())


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Finds `keras` through the other finders and calls `register()` once it has run.

    The finder stays installed until Keras is actually executed: TensorFlow
    probes for Keras with `importlib.util.find_spec` before importing it.
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
            register()

        spec.loader.exec_module = exec_module
        return spec
