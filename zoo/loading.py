"""Loading saved zoo models with one-line errors for the usual mistakes."""

import os
import zipfile

from zoo.errors import ZooError


def load_gan(path):
    """Loads a `zoo.GAN` saved as `.keras`.

    Args:
        path: path of a `.keras` file written by `GAN.save` or `zoo train`.

    Returns:
        The `zoo.GAN`, compiled if it was saved compiled.

    Example:

    >>> gan = load_gan("runs/dcgan/model.keras")
    """
    import keras

    from zoo.gan import GAN

    model = _load_keras_file(path, keras)
    if not isinstance(model, GAN):
        raise ZooError(
            f"{path} holds a {type(model).__name__} named '{model.name}', not a zoo GAN. "
            "Pass a model.keras written by `zoo train` or `GAN.save`."
        )
    return model


def _load_keras_file(path, keras):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ZooError(f"No such model file: {path}. Pass the path of a .keras file (e.g. runs/dcgan/model.keras).")
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.keras")
        if os.path.isfile(candidate):
            path = candidate
        else:
            raise ZooError(f"{path} is a folder without model.keras. Pass the path of a .keras file.")
    if not zipfile.is_zipfile(path):
        raise ZooError(f"{path} is not a .keras file (not a zip archive). Pass a model saved with .save('*.keras').")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for a foreign file.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ZooError(f"Could not load {path} as a Keras model ({first_line[:200]}).") from error
