"""Loading what `zoo export` accepts: a GAN `.keras` or a generator-only `.keras`."""

from zoo.errors import ZooError


def load_exportable(path):
    """Loads a `.keras` file holding a `zoo.GAN` or a generator.

    A generator-only file must hold a functional model with inputs named `z`
    (and `label`) and output `image`; a discriminator (images in, one logit out)
    is refused with a one-line `ZooError` that says so.

    Args:
        path: path of the `.keras` file (or of a run folder holding `model.keras`),
            or a pretrained name (its verified `generator.keras`).

    Returns:
        The `zoo.GAN` or generator `keras.Model`, checked for export.

    Example:

    >>> model = load_exportable("runs/dcgan/model.keras")
    """
    import keras

    from zoo.export.signature import resolve_generator
    from zoo.gan import GAN
    from zoo.loading import _load_keras_file, resolve_model

    path = resolve_model(path, "keras", "a .keras file", missing="No such model file")
    model = _load_keras_file(path, keras)
    if isinstance(model, GAN):
        return model
    if not isinstance(model, keras.Model):
        raise ZooError(f"{path} holds a {type(model).__name__}, not a zoo GAN or generator.")
    try:
        resolve_generator(model)
    except ZooError as error:
        raise ZooError(f"{path}: {error}") from None
    return model
