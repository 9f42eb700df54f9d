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
