"""Building blocks and networks shared by the convolutional variants.

Every network that more than one variant uses lives here, so no variant imports
another variant's module. The layer plan is derived from `image_shape`: a square image of side `b·2^k`
(3 ≤ b ≤ 8, k ≥ 1) is generated from a `b×b` feature map doubled `k` times, and
discriminated by `k` stride-2 convolutions. 28 = 7·2², 32 = 4·2³, 64 = 4·2⁴.
"""

import numbers

import keras
from keras import layers

from zoo.errors import ZooError
from zoo.gan import check_num_classes
from zoo.layers import LatentCluster, MinibatchStdDev

MIN_BASE, MAX_BASE = 3, 8


def check_image_shape(image_shape, variant):
    """Returns `image_shape` as a tuple `(H, W, C)` of positive ints."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) != 3
        or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise ZooError(
            f"image_shape must be three positive ints (height, width, channels). "
            f"Received: image_shape={image_shape!r} for variant '{variant}'."
        )
    return tuple(int(d) for d in shape)


def upsampling_plan(image_shape, variant):
    """Returns `(base, doublings)` such that `base * 2**doublings == side`.

    Example:

    >>> upsampling_plan((28, 28, 1), "dcgan")
    (7, 2)
    """
    height, width, _ = check_image_shape(image_shape, variant)
    base, doublings = height, 0
    while base % 2 == 0 and base > MAX_BASE:
        base //= 2
        doublings += 1
    if height != width or doublings == 0 or not MIN_BASE <= base <= MAX_BASE:
        raise ZooError(
            f"Variant '{variant}' cannot build image_shape={tuple(image_shape)}: it "
            f"needs square images whose side is b*2^k with {MIN_BASE} <= b <= "
            f"{MAX_BASE} and k >= 1 (e.g. 28, 32, 64). Resize the data or use mlp_gan."
        )
    return base, doublings


def conv_generator_body(x, image_shape, width, upsampling, name_prefix="", output_kernel_size=3):
    """Dense projection + `k` doublings + a tanh output convolution.

    The output convolution is 3x3 by default; `output_kernel_size=1` gives a
    pointwise "to image" layer (as in Karras et al. 2018), cheaper in every
    runtime since the last doubling's 3x3 convolution already mixes neighbours.

    Each doubling is nearest-neighbour upsampling followed by a 3x3 convolution
    (Odena et al. 2016: no checkerboard artefacts, and fast in onnxruntime), or a
    4x4 stride-2 transposed convolution with `upsampling="transpose"` (Radford et
    al. 2016). BatchNorm + ReLU after every hidden layer, as in DCGAN.
    """
    if upsampling not in ("nearest", "transpose"):
        raise ZooError(
            f"upsampling must be 'nearest' or 'transpose'. Received: upsampling={upsampling!r}."
        )
    if output_kernel_size not in (1, 3):
        raise ZooError(
            f"output_kernel_size must be 1 or 3. Received: output_kernel_size={output_kernel_size!r}."
        )
    base, doublings = upsampling_plan(image_shape, "generator")
    channels = width * 2**doublings
    x = layers.Dense(base * base * channels, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((base, base, channels))(x)
    for _ in range(doublings):
        channels //= 2
        if upsampling == "nearest":
            x = layers.UpSampling2D(2, interpolation="nearest")(x)
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
        else:
            x = layers.Conv2DTranspose(
                channels, 4, strides=2, padding="same", use_bias=False
            )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv2D(image_shape[-1], output_kernel_size, padding="same")(x)
    # float32 output even under a mixed-precision policy.
    return layers.Activation("tanh", dtype="float32", name="image")(x)


def conv_discriminator_features(
    x, image_shape, width, spectral_norm=False, dropout=0.0, minibatch_std=False
):
    """`k` stride-2 4x4 convolutions with LeakyReLU(0.2), flattened.

    No pooling and no BatchNorm (Radford et al. 2016 drop pooling; BatchNorm in D
    is left out so penalties on D's gradients stay per-sample). With
    `minibatch_std=True` the last feature map gains a minibatch standard
    deviation channel (`zoo.layers.MinibatchStdDev`).
    """
    _, doublings = upsampling_plan(image_shape, "discriminator")
    wrap = maybe_spectral_norm(spectral_norm)
    channels = width
    for _ in range(doublings):
        x = wrap(layers.Conv2D(channels, 4, strides=2, padding="same"))(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        channels *= 2
    if minibatch_std:
        x = MinibatchStdDev()(x)
    return layers.Flatten()(x)


def conv_discriminator_body(
    x, image_shape, width, spectral_norm=False, dropout=0.0, minibatch_std=False
):
    """`conv_discriminator_features` followed by one float32 logit."""
    features = conv_discriminator_features(
        x, image_shape, width, spectral_norm, dropout, minibatch_std
    )
    return maybe_spectral_norm(spectral_norm)(layers.Dense(1, dtype="float32", name="logit"))(features)


def maybe_spectral_norm(enabled):
    """Returns a wrapper applying `SpectralNormalization` when `enabled`."""
    return layers.SpectralNormalization if enabled else (lambda layer: layer)


def latent_input(latent_dim):
    return keras.Input((latent_dim,), name="z")


def image_input(image_shape):
    return keras.Input(tuple(image_shape), name="image")


def label_input():
    return keras.Input((), dtype="int32", name="label")


def required_num_classes(num_classes, variant):
    """Returns `num_classes` checked, for a variant that cannot do without labels."""
    num_classes = check_num_classes(num_classes)
    if num_classes is None:
        raise ZooError(
            f"{variant} is conditional: num_classes must be an integer >= 2. "
            "Received: num_classes=None."
        )
    return num_classes


def conv_generator(
    latent_dim, image_shape, width=24, upsampling="nearest", output_kernel_size=3,
    cluster_frequencies=None, embedding_dim=32,
):
    """The DCGAN generator `z -> image` (`conv_generator_body` on `z`).

    With `cluster_frequencies` (self-conditioning, Liu et al. 2020) G draws a
    cluster id from `z[:, 0]` (`zoo.layers.LatentCluster`) and concatenates its
    embedding to `z`.

    Example:

    >>> conv_generator(64, (28, 28, 1)).output.shape
    (None, 28, 28, 1)
    """
    z = latent_input(latent_dim)
    x = z
    if cluster_frequencies is not None:
        cluster = LatentCluster(cluster_frequencies, name="latent_cluster")(z)
        embedded = layers.Embedding(len(cluster_frequencies), embedding_dim)(cluster)
        x = layers.Concatenate()([z, embedded])
    image = conv_generator_body(x, image_shape, width, upsampling, output_kernel_size=output_kernel_size)
    return keras.Model(z, image, name="generator")


def conv_discriminator(image_shape, width=32, spectral_norm=False, minibatch_std=False):
    """The DCGAN discriminator `image -> logit` (`conv_discriminator_body`)."""
    image = image_input(image_shape)
    logit = conv_discriminator_body(
        image, image_shape, width, spectral_norm, minibatch_std=minibatch_std
    )
    return keras.Model(image, logit, name="discriminator")


def label_conditioned_generator(latent_dim, image_shape, num_classes, width=24, embedding_dim=32):
    """The cGAN generator `(z, label) -> image`: the label's embedding joins `z`."""
    z = latent_input(latent_dim)
    label = label_input()
    embedded = layers.Embedding(num_classes, embedding_dim)(label)
    x = layers.Concatenate()([z, embedded])
    image = conv_generator_body(x, image_shape, width, "nearest")
    return keras.Model([z, label], image, name="generator")


def label_conditioned_discriminator(
    image_shape, num_classes, width=32, embedding_dim=32, spectral_norm=False
):
    """The cGAN discriminator `(image, label) -> logit`.

    The label's embedding is projected to one extra image-sized channel stacked
    on the input image (Mirza & Osindero 2014).
    """
    height, width_px, _ = image_shape
    image = image_input(image_shape)
    label = label_input()
    embedded = layers.Embedding(num_classes, embedding_dim)(label)
    label_map = layers.Reshape((height, width_px, 1))(layers.Dense(height * width_px)(embedded))
    x = layers.Concatenate()([image, label_map])
    logit = conv_discriminator_body(x, image_shape, width, spectral_norm)
    return keras.Model([image, label], logit, name="discriminator")
