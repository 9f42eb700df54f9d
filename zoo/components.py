"""Small named, serializable training pieces (losses, penalties) and their registries.

Example:

>>> LOSSES = Registry("loss", base=GANLoss)
>>> @LOSSES.register("hinge")
... class HingeLoss(GANLoss): ...
>>> LOSSES.get("hinge")
HingeLoss({})
"""

import keras

from zoo.errors import unknown_name_error


class Component:
    """Base of a piece whose constructor arguments are its whole config."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class Registry:
    """Names -> `Component` classes, each also registered with Keras for saving.

    Args:
        kind: what the registry holds, for error messages (e.g. `"loss"`).
        base: the base class instances must have.
    """

    def __init__(self, kind, base):
        self.kind = kind
        self.base = base
        self.classes = {}

    def register(self, name):
        def decorator(cls):
            cls.registered_name = name
            self.classes[name] = cls
            return keras.saving.register_keras_serializable(package="zoo")(cls)

        return decorator

    def names(self):
        return sorted(self.classes)

    def get(self, identifier):
        """An instance from a name, a serialized config or an instance."""
        if isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, dict):
            return keras.saving.deserialize_keras_object(identifier)
        if isinstance(identifier, str):
            if identifier not in self.classes:
                raise unknown_name_error(self.kind, identifier, self.classes)
            return self.classes[identifier]()
        raise TypeError(
            f"A {self.kind} must be a name, a config dict or a "
            f"{self.base.__module__}.{self.base.__name__}. "
            f"Received: {identifier!r} of type {type(identifier).__name__}."
        )
