"""keras-gan-zoo: GANs in Keras 3 whose generators ship as verified artifacts.

Importing `zoo` is cheap: TensorFlow and Keras are loaded only when a name that needs
them is first used, so `zoo.serving` (onnxruntime only) never pulls TensorFlow in.
Keras still finds zoo's classes in `keras.saving.load_model("gan.keras")`
(`zoo.keras_registration`). Keras must run on its TensorFlow backend: another
`KERAS_BACKEND` fails here at once, in one line (`zoo.keras_backend`).

Example:

>>> import zoo
>>> zoo.list_variants()
['cgan', 'dcgan', 'mlp_gan']
>>> gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=64)
"""

from zoo import keras_backend

keras_backend.guard()

from zoo import keras_registration, lazy  # noqa: E402  (after the guard: nothing else loads first)

__version__ = "0.1.0"

__getattr__, __dir__ = lazy.lazy_exports(
    __name__,
    {
        "GAN": "zoo.gan",
        "create": "zoo.registry",
        "list_variants": "zoo.registry",
        "register_variant": "zoo.registry",
        "get_variant": "zoo.registry",
        "variant_record": "zoo.registry",
        "variant_records": "zoo.registry",
        "GeneratorRecord": "zoo.record",
        "Sampler": "zoo.sampling",
        "ZooError": "zoo.errors",
        "pretrained": "zoo.hub",
        "list_pretrained": "zoo.hub",
    },
    submodules=(
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
        "paths",
        "publish",
        "recipes",
        "record",
        "regularizers",
        "run_config",
        "sampling",
        "sessions",
        "settings",
        "training",
        "variants",
    ),
)

keras_registration.install()
