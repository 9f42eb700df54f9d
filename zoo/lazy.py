"""Lazy re-exports for package `__init__` files (PEP 562).

A package declares the names it re-exports and the module defining each; the
module is imported on first access, so importing the package stays cheap
(`import zoo` does not import TensorFlow). Old names kept for compatibility are
declared the same way and warn once when used.

Example:

```python
# zoo/metrics/__init__.py
from zoo.lazy import lazy_exports

_EXPORTS = {"evaluate": "zoo.metrics.evaluation"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
```
"""

import importlib
import importlib.util
import sys
import warnings


def lazy_exports(package, attributes, submodules=(), deprecated=None):
    """Returns the `__getattr__` and `__dir__` of a lazily re-exporting package.

    Args:
        package: the package's `__name__`.
        attributes: `{name: module}`: `package.name` is `module.name`, imported
            on first access.
        submodules: names of the package's submodules that `package.name`
            imports on first access.
        deprecated: `{old_name: (module, new_name)}`: old names that still
            resolve to `module.new_name`, with a `DeprecationWarning` the first
            time each is used. They are left out of `__dir__`.

    Returns:
        `(__getattr__, __dir__)`, to assign in the package.
    """
    attributes = dict(attributes)
    submodules = tuple(submodules)
    deprecated = dict(deprecated or {})
    warned = set()

    def __getattr__(name):
        if name in attributes:
            return getattr(importlib.import_module(attributes[name]), name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in deprecated:
            module, new_name = deprecated[name]
            if name not in warned:
                warned.add(name)
                warnings.warn(
                    f"{package}.{name} is deprecated; use {module}.{new_name} instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )
            return getattr(importlib.import_module(module), new_name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(attributes) | set(submodules))

    return __getattr__, __dir__


def importable(module):
    """Whether `module` can be imported here, without importing it.

    Example:

    >>> importable("numpy"), importable("no_such_module")
    (True, False)
    """
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
