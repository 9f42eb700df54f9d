"""Running an exported generator in each format on one set of feeds (the parity gate, `zoo verify`).

Every runner takes the same feeds `{"z": float32, "label": int64}` by port name
and returns the float32 `image` as NumPy. They run fixed inputs through a
session or model opened elsewhere: onnxruntime sessions and LiteRT interpreters
come from `zoo.sessions` (the one place that opens them), the SavedModel from
`load_saved_model`. Drawing images for a seed is `zoo.sampling.Sampler`'s job,
not theirs.

Example:

>>> from zoo.sessions import onnx_session
>>> image = run_onnx(onnx_session("export/my-dcgan/generator.onnx"), {"z": z})
"""

import os

import numpy as np

from zoo.record import IMAGE_NAME, LABEL_NAME, LATENT_NAME


def run_onnx(session, feeds):
    """Runs an onnxruntime session on `feeds` (by name) and returns `image`."""
    wanted = {port.name for port in session.get_inputs()}
    outputs = session.run([IMAGE_NAME], {name: value for name, value in feeds.items() if name in wanted})
    return outputs[0]


def load_saved_model(path):
    """Loads a SavedModel's `serving_default` signature."""
    import tensorflow as tf

    return tf.saved_model.load(os.fspath(path)).signatures["serving_default"]


def run_saved_model(signature, feeds):
    """Calls a `serving_default` signature with keyword tensors; returns `image`."""
    import tensorflow as tf

    kwargs = {name: tf.constant(value) for name, value in feeds.items()}
    return signature(**kwargs)[IMAGE_NAME].numpy()


def run_keras(generator, feeds):
    """Calls a Keras generator in inference mode on `feeds`; returns `image`.

    The call is eager (not `predict`), so the reference does not share the
    traced graph that the SavedModel and ONNX file come from.
    """
    import keras

    z = feeds[LATENT_NAME]
    if LABEL_NAME in feeds:
        by_name = {LATENT_NAME: z, LABEL_NAME: feeds[LABEL_NAME].astype(np.int32)}
        inputs = [by_name[tensor.name] for tensor in generator.inputs]
    else:
        inputs = z
    image = generator(inputs, training=False)
    return np.asarray(keras.ops.convert_to_numpy(image))


def run_litert(interpreter, feeds):
    """Runs a LiteRT interpreter on `feeds` (by name, any batch size); returns `image`.

    The interpreter comes from `zoo.sessions.litert_interpreter`.
    """
    from zoo.export import litert

    return litert.run(interpreter, feeds)
