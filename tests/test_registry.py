import dataclasses

import pytest

import zoo
from zoo import registry
from zoo.errors import ZooError
from zoo.registry import register_variant, variant_record, variant_records

RECORDS = variant_records()


@pytest.fixture
def scratch_names():
    """Names registered by a test, removed from the registry afterwards."""
    names = []
    yield names
    for name in names:
        registry._VARIANTS.pop(name, None)


def tiny_builder(image_shape=(28, 28, 1), latent_dim=8, **gan_options):
    """A tiny MLP GAN for registry tests."""
    return zoo.create("mlp_gan", image_shape=image_shape, latent_dim=latent_dim, **gan_options)


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
    before = variant_record("dcgan")
    with pytest.raises(ValueError, match="Variant 'dcgan' is already registered .*zoo.variants.dcgan"):
        register_variant("dcgan", conditional=False, summary="again")(tiny_builder)
    assert variant_record("dcgan") is before


def test_a_new_variant_joins_with_one_decorator(scratch_names):
    scratch_names.append("tiny_test_variant")

    @register_variant(
        "tiny_test_variant",
        conditional=False,
        summary="a tiny MLP GAN.",
        references=("Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661",),
    )
    def tiny(image_shape=(28, 28, 1), latent_dim=8, **gan_options):
        return tiny_builder(image_shape, latent_dim, **gan_options)

    assert "tiny_test_variant" in zoo.list_variants()
    assert zoo.create("tiny_test_variant").latent_dim == 8
    record = variant_record("tiny_test_variant")
    assert (record.builder, record.conditional, record.self_conditioning) == (tiny, False, False)
    assert record.defaults == {"image_shape": (28, 28, 1), "latent_dim": 8}
    assert record.options == ("image_shape", "latent_dim") + registry.GAN_OPTIONS
    assert record.reference_links() == [
        ("Goodfellow et al. 2014, Generative Adversarial Nets", "https://arxiv.org/abs/1406.2661")
    ]


def test_the_old_decorator_form_warns_and_guesses_the_facts(scratch_names):
    scratch_names.append("old_style_variant")
    with pytest.warns(DeprecationWarning, match="register_variant\\('old_style_variant'\\) without conditional="):
        decorator = register_variant("old_style_variant")

    @decorator
    def old_style(image_shape=(28, 28, 1), num_classes=10, **gan_options):
        """`old_style_variant`: its summary line."""

    record = variant_record("old_style_variant")
    assert record.builder is old_style and zoo.get_variant("old_style_variant") is old_style
    assert (record.conditional, record.self_conditioning) == (True, False)
    # This test module has no docstring, so the summary comes from the builder's.
    assert (record.summary, record.references) == ("its summary line.", ())


def test_half_declared_facts_are_refused():
    with pytest.raises(TypeError, match="needs both conditional= and summary="):
        register_variant("half_declared", conditional=False)


@pytest.mark.parametrize(
    "facts, message",
    [
        ({"conditional": True}, "declares conditional=True but its builder lacks the 'num_classes' option"),
        ({"conditional": False, "self_conditioning": True}, "lacks the 'clusters' option"),
    ],
)
def test_facts_that_contradict_the_builder_are_refused(facts, message):
    with pytest.raises(ValueError, match=message):
        register_variant("contradicting", summary="wrong facts", **facts)(tiny_builder)
    assert "contradicting" not in zoo.list_variants()


def test_records_are_frozen_and_their_defaults_read_only():
    record = variant_record("dcgan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.conditional = True
    with pytest.raises(TypeError):
        record.defaults["latent_dim"] = 3
    assert hash(record) == hash(variant_record("dcgan"))


def test_variant_records_are_sorted_by_name_and_match_list_variants():
    assert [record.name for record in variant_records()] == zoo.list_variants()


def test_unknown_variant_record_suggests_close_name():
    with pytest.raises(ZooError, match="Unknown variant 'dcgn'.*Did you mean 'dcgan'?"):
        variant_record("dcgn")


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_every_variant_has_a_summary_and_an_arxiv_reference(record):
    assert record.summary and "\n" not in record.summary and len(record.summary) < 100
    assert record.references
    assert all(url and url.startswith("https://arxiv.org/abs/") for _, url in record.reference_links())


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.name)
def test_recorded_facts_match_what_the_builder_builds(record):
    gan = zoo.create(record.name, latent_dim=4)
    assert record.conditional == (gan.num_classes is not None) == gan.conditional
    assert record.conditional == ("num_classes" in record.options)
    assert record.self_conditioning == ("clusters" in record.options)
    assert record.builder is zoo.get_variant(record.name)
    assert gan.latent_dim == 4 and gan.image_shape == record.defaults["image_shape"]
    assert set(record.defaults) <= set(record.options) and set(registry.GAN_OPTIONS) <= set(record.options)


def test_no_variant_imports_another_variants_module():
    import ast
    import pathlib

    folder = pathlib.Path(zoo.variants.__file__).parent
    variant_modules = {path.stem for path in folder.glob("*.py")} - {"__init__", "blocks"}
    for path in folder.glob("*.py"):
        if path.stem == "__init__":
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "zoo.variants":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zoo.variants."):
                imported.add(node.module.rsplit(".", 1)[-1])
        assert not imported & variant_modules, f"{path.name} imports {sorted(imported & variant_modules)}"


def test_the_moved_networks_keep_their_old_names_with_a_warning():
    from zoo.variants import blocks, cgan, dcgan

    for module, old_name, new in (
        (dcgan, "build_generator", blocks.conv_generator),
        (dcgan, "build_discriminator", blocks.conv_discriminator),
        (cgan, "build_generator", blocks.label_conditioned_generator),
        (cgan, "build_discriminator", blocks.label_conditioned_discriminator),
    ):
        with pytest.warns(DeprecationWarning, match=f"{module.__name__}.{old_name} is deprecated"):
            assert getattr(module, old_name) is new


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
