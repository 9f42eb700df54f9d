import pytest

import zoo
from zoo.errors import ZooError
from zoo.registry import register_variant


def test_builtin_variants_are_registered():
    assert {"mlp_gan", "dcgan", "cgan"} <= set(zoo.list_variants())


def test_unknown_variant_suggests_close_name():
    with pytest.raises(ZooError) as error:
        zoo.create("dcgn")
    message = str(error.value)
    assert "Unknown variant 'dcgn'" in message
    assert "Did you mean 'dcgan'?" in message
    assert "\n" not in message


def test_unknown_option_is_rejected():
    with pytest.raises(ZooError, match="has no option 'latent_size'"):
        zoo.create("dcgan", latent_size=3)


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        register_variant("dcgan")(lambda: None)


def test_a_new_variant_joins_with_one_decorator():
    from zoo import registry

    @register_variant("tiny_test_variant")
    def tiny(image_shape=(28, 28, 1), latent_dim=8):
        return zoo.create("mlp_gan", image_shape=image_shape, latent_dim=latent_dim)

    try:
        assert "tiny_test_variant" in zoo.list_variants()
        assert zoo.create("tiny_test_variant").latent_dim == 8
    finally:
        del registry._VARIANTS["tiny_test_variant"]


def test_importing_zoo_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, zoo, zoo.latent, zoo.images; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_keras_load_model_finds_zoo_classes_after_plain_import_zoo(tmp_path):
    import subprocess
    import sys

    import zoo as zoo_module

    gan = zoo_module.create("mlp_gan", latent_dim=4, seed=0, d_penalties=["r1"])
    gan.compile(loss="hinge")
    path = tmp_path / "gan.keras"
    gan.save(path)
    # A fresh process that imports zoo before keras, as a user would.
    code = (
        "import zoo, keras, sys\n"
        f"gan = keras.saving.load_model({str(path)!r})\n"
        "print(type(gan).__name__, type(gan.loss_fn).__name__, type(gan.d_penalties[0]).__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["GAN", "HingeLoss", "R1Penalty"]
