"""The one `tf.function` that both the SavedModel and the ONNX file come from.

The function takes keyword tensors `z` (float32 `[batch, latent_dim]`) and, for
conditional models, `label` (int64 `[batch]`, cast to int32 inside), calls the
generator in inference mode (BatchNorm uses its moving statistics, Dropout is off)
and returns `{"image": ...}`. Tracing a named `tf.TensorSpec` signature gives
stable port names in both formats (auto names such as `keras_tensor_29` or
`args_0` are not stable, see REFERENCE.md).

Before tracing, the generator is copied (its weights shared by value):

- with every layer in float32, so a `mixed_float16` generator exports as float32;
- with each nearest `UpSampling2D` replaced by a `resize_nearest_neighbor` call,
  which computes the same values (integer scales copy pixels) but converts to one
  ONNX `Resize` instead of a Shape/Tile/Reshape chain wrapped in transposes.

The parity gate in `zoo.export.parity` checks the traced function against the
user's generator, so these substitutions cannot silently change an image.
"""

import keras
import tensorflow as tf

from zoo.record import IMAGE_NAME, LABEL_NAME, LATENT_NAME


class NearestUpsampling(keras.layers.Layer):
    """Export-time stand-in for `UpSampling2D(interpolation="nearest")` (NHWC).

    Args:
        size: `(rows, cols)` integer scale factors.
    """

    def __init__(self, size=(2, 2), **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(int(s) for s in size)

    def call(self, inputs):
        height, width = inputs.shape[1], inputs.shape[2]
        if height is None or width is None:
            dynamic = tf.shape(inputs)
            height = dynamic[1] if height is None else height
            width = dynamic[2] if width is None else width
        new_size = tf.stack([height * self.size[0], width * self.size[1]])
        return tf.raw_ops.ResizeNearestNeighbor(
            images=inputs, size=new_size, align_corners=False, half_pixel_centers=False
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = lambda d, s: None if d is None else d * s  # noqa: E731
        return (batch, scale(height, self.size[0]), scale(width, self.size[1]), channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def needs_float32_copy(generator):
    """Whether any layer of `generator` computes in a dtype other than float32."""
    return any(
        getattr(layer, "dtype_policy", None) is not None
        and layer.dtype_policy.compute_dtype != "float32"
        for layer in _all_layers(generator)
    )


def float32_copy(generator):
    """Returns a copy of `generator` whose layers all compute in float32.

    Used for `mixed_float16` generators: the copy is rebuilt from each layer's
    config with dtype policy float32 and receives the original's weights.

    Example:

    >>> reference = float32_copy(gan.generator) if needs_float32_copy(gan.generator) else gan.generator
    """
    return _clone(generator, substitute=False)


def export_copy(generator):
    """Returns the float32, export-friendly copy of `generator` that is traced."""
    return _clone(generator, substitute=True)


def _clone(generator, substitute):
    def clone_layer(layer):
        config = layer.get_config()
        if substitute and _is_nearest_upsampling(layer):
            return NearestUpsampling(layer.size, name=layer.name)
        if "dtype" in config:
            config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(generator, clone_function=clone_layer)
    for layer in generator.layers:
        weights = layer.get_weights()
        if weights:
            copy.get_layer(layer.name).set_weights(weights)
    return copy


def _is_nearest_upsampling(layer):
    return (
        isinstance(layer, keras.layers.UpSampling2D)
        and layer.interpolation == "nearest"
        and layer.data_format == "channels_last"
    )


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def input_signature(record):
    """Named `tf.TensorSpec`s of the stable interface (`record.saved_model_signature()`), in port order."""
    return [tf.TensorSpec(shape, dtype, name=name) for name, dtype, shape in record.saved_model_signature()]


def serving_function(model, record):
    """Traces `model` as `fn(z[, label]) -> {"image": ...}` in inference mode.

    Args:
        model: the generator copy to trace (see `export_copy`).
        record: the generator's `GeneratorRecord`, which fixes the interface.

    Returns:
        A `tf.function` with a fixed, named input signature.

    Example:

    >>> fn = serving_function(export_copy(info.generator), info.record)
    >>> fn(z=tf.zeros([2, 64]))["image"].shape
    TensorShape([2, 28, 28, 1])
    """
    specs = input_signature(record)
    if record.conditional:

        @tf.function(input_signature=specs)
        def generate(z, label):
            inputs = ordered_inputs(model, z, tf.cast(label, tf.int32))
            image = model(inputs, training=False)
            return {IMAGE_NAME: tf.cast(image, tf.float32)}

    else:

        @tf.function(input_signature=specs)
        def generate(z):
            return {IMAGE_NAME: tf.cast(model(z, training=False), tf.float32)}

    return generate


def ordered_inputs(model, z, label):
    """Returns `[z, label]` in the order of `model.inputs`."""
    by_name = {LATENT_NAME: z, LABEL_NAME: label}
    return [by_name[tensor.name] for tensor in model.inputs]


def save_saved_model(model, function, path):
    """Writes a SavedModel whose `serving_default` signature is `function`."""
    module = tf.Module()
    module.generator = model
    module.generate = function
    tf.saved_model.save(module, path, signatures={"serving_default": function})
