"""`zoo.run_config`: one run configuration for the CLI, recipes, `train()`, `run.json` and publish."""

import glob
import inspect
import json
import os

import pytest

from zoo.errors import ZooError
from zoo.run_config import RunConfig, RunRecord, RunResult, read_run_record

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = sorted(glob.glob(os.path.join(REPO, "models", "*", "recipe.toml")))

# run.json as each earlier version of `zoo train` wrote it (trimmed to the keys that changed).
LEGACY_RUNS = {
    "first (no result)": {
        "variant": "dcgan", "dataset": "fashion_mnist", "data_source": "idx:/data", "epochs": 3, "batch_size": 32,
        "steps_per_epoch": None, "seed": 0, "take": None, "variant_config": {"image_shape": [28, 28, 1], "seed": 0},
        "compile_config": {}, "class_names": None,
    },
    "no total seconds": {
        "variant": "dcgan", "dataset": "fashion_mnist", "epochs": 3, "batch_size": 32, "max_minutes": 9,
        "result": {"seconds_this_session": 3.5, "generator_steps": 10, "images_seen": 320, "diverged": False,
                   "machine": {"cpu_count": 2}},
    },
    "boolean mixed precision, strategy instance": {
        "variant": "cgan", "dataset": "fashion_mnist", "epochs": 1, "batch_size": 16, "strategy": "MirroredStrategy",
        "replicas": 2, "mixed_precision": True,
        "result": {"seconds": 7.0, "seconds_this_session": 7.0, "generator_steps": 4, "images_seen": 64},
    },
    "old result names": {
        "variant": "dcgan", "dataset": "fashion_mnist", "batch_size": 8, "mixed_precision": False,
        "result": {"seconds_total": 12.0, "seconds_this_session": 2.0, "steps": 5},
    },
}


def test_train_signature_and_cli_take_their_defaults_from_the_config():
    from zoo.cli import build_parser
    from zoo.training import train

    parameters = inspect.signature(train).parameters
    for name in ("dataset", "epochs", "batch_size", "sample_count", "steps_per_epoch", "seed", "take"):
        assert parameters[name].default == RunConfig.default(name), name
    assert RunConfig.default("variant_config") == {} and RunConfig("dcgan").epochs == RunConfig.default("epochs")
    parser = build_parser()
    train_parser = next(
        choice for action in parser._actions if hasattr(action, "choices") and isinstance(action.choices, dict)
        for name, choice in action.choices.items() if name == "train"
    )
    help_text = " ".join(train_parser.format_help().split())
    assert f"--epochs EPOCHS default: {RunConfig.default('epochs')}" in help_text
    assert f"--batch-size BATCH_SIZE default: {RunConfig.default('batch_size')}" in help_text
    assert f"(default: {RunConfig.default('dataset')})" in help_text


@pytest.mark.parametrize("path", RECIPES, ids=[os.path.basename(os.path.dirname(path)) for path in RECIPES])
def test_every_published_recipe_loads_and_round_trips(path):
    from zoo.recipes import load_recipe, read_recipe_file

    config = RunConfig.from_recipe(path)
    table = read_recipe_file(path)
    assert config.variant == table["variant"] and config.epochs == table["epochs"]
    assert config.variant_config == table["variant_config"]
    assert config.compile_config["g_optimizer"]["class_name"] == table["compile"]["g_optimizer"]["class_name"]
    assert RunConfig.from_recipe(config.to_recipe()) == config
    kwargs = load_recipe(path)
    assert set(kwargs) == {"compile_config" if key == "compile" else key for key in table} - {"name", "description"}
    assert _unnamed(RunConfig(**kwargs)) == _unnamed(config)  # each load names its optimizers anew (adam_1, ...)


def _unnamed(config):
    """`config` with its optimizers' automatic names left out."""
    compile_config = {
        key: {**value, "config": {k: v for k, v in value["config"].items() if k != "name"}}
        if isinstance(value, dict) and "config" in value else value
        for key, value in config.compile_config.items()
    }
    return config.replace(compile_config=compile_config)


def test_replace_checks_again_and_errors_say_what_was_received():
    config = RunConfig("dcgan", mixed_precision="mixed_bfloat16", variant_config={"image_shape": [32, 32, 3]})
    assert config.mixed_precision == "bfloat16" and config.policy == "mixed_bfloat16"
    assert config.variant_config["image_shape"] == (32, 32, 3)
    assert config.replace(seed=3).seed == 3 and config.seed is None
    with pytest.raises(ZooError, match=r"^batch_size must be a positive integer. Received: batch_size=0.$"):
        config.replace(batch_size=0)
    with pytest.raises(ZooError, match="Unknown strategy 'tpu'"):
        RunConfig("dcgan", strategy="tpu")
    with pytest.raises(ZooError, match="recipe: unknown key 'epoch'"):
        RunConfig.from_recipe({"variant": "dcgan", "epoch": 3})
    with pytest.raises(ZooError, match="^r.toml: epochs must be a positive integer"):
        RunConfig.from_recipe({"variant": "dcgan", "epochs": 0}, source="r.toml")


def test_run_json_round_trips():
    record = RunRecord(
        config=RunConfig("cgan", epochs=2, mixed_precision=True, variant_config={"image_shape": (28, 28, 1)}),
        data_source="idx:/data",
        replicas=1,
        class_names=("a", "b"),
    )
    data = json.loads(record.to_json())
    assert data["mixed_precision"] == "mixed_float16" and data["variant_config"]["image_shape"] == [28, 28, 1]
    assert "result" not in data
    finished = record.finished(RunResult(seconds=3.0, seconds_this_session=1.0, generator_steps=4, images_seen=512))
    assert RunRecord.from_json(finished.to_json()) == finished
    assert json.loads(finished.to_json())["result"]["diverged"] is False


def test_init_from_is_a_setting_of_the_cli_the_recipe_and_run_json(tmp_path):
    from zoo.commands.train import run_config
    from zoo.cli import build_parser

    recipe = RunConfig.from_recipe({"variant": "cgan", "dataset": "my_images", "init_from": "cgan-fashion-mnist"})
    assert recipe.init_from == "cgan-fashion-mnist" and RunConfig.default("init_from") is None
    assert RunConfig.from_recipe(recipe.to_recipe()) == recipe and "init_from" not in RunConfig("dcgan").to_recipe()
    assert RunConfig("cgan", init_from=tmp_path / "gan.keras").init_from == str(tmp_path / "gan.keras")
    record = RunRecord(config=recipe, init_from_sha256="ab" * 32)
    data = json.loads(record.to_json())
    assert data["init_from"] == "cgan-fashion-mnist" and data["init_from_sha256"] == "ab" * 32
    assert RunRecord.from_json(record.to_json()) == record
    assert "init_from_sha256" not in json.loads(RunRecord(config=RunConfig("dcgan")).to_json())
    args = build_parser().parse_args(["train", "cgan", "--init-from", "cgan-fashion-mnist", "--dataset", "my_images"])
    assert run_config(args).init_from == "cgan-fashion-mnist"
    with pytest.raises(ZooError, match=r"^init_from must be a pretrained name or the path of a GAN .keras file. Received"):
        RunConfig("cgan", init_from=3)


@pytest.mark.parametrize("case", sorted(LEGACY_RUNS))
def test_every_earlier_run_json_reads(case, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(LEGACY_RUNS[case]))
    record = read_run_record(path)
    assert record.config.variant == LEGACY_RUNS[case]["variant"]
    if case == "first (no result)":
        assert record.result is None and record.config.variant_config["image_shape"] == (28, 28, 1)
    elif case == "no total seconds":
        assert record.result.seconds == 3.5 and record.config.max_minutes == 9.0
    elif case == "boolean mixed precision, strategy instance":
        assert record.config.mixed_precision == "float16" and record.config.strategy == "mirrored"
        assert record.replicas == 2 and record.result.machine == {}
    else:
        assert (record.result.seconds, record.result.generator_steps, record.result.images_seen) == (12.0, 5, 40)
        assert record.config.mixed_precision is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"variant": "ml', "is not a readable run record"),
        ("[1, 2]", "has no variant/dataset"),
        ('{"variant": "dcgan", "dataset": "fashion_mnist", "result": 3}', "its 'result' is not a table"),
        ('{"variant": "dcgan", "dataset": "fashion_mnist", "epochs": 0}', "epochs must be a positive integer"),
    ],
)
def test_a_bad_run_json_is_a_one_line_error(text, expected, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(ZooError) as caught:
        read_run_record(path)
    assert expected in str(caught.value) and str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_publish_reads_run_json_through_the_record(tmp_path):
    from zoo.publish import read_run

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"")
    (run / "run.json").write_text(json.dumps(LEGACY_RUNS["old result names"]))
    assert read_run(run).result.generator_steps == 5
    diverged = dict(LEGACY_RUNS["old result names"], result={"steps": 5, "diverged": True})
    (run / "run.json").write_text(json.dumps(diverged))
    with pytest.raises(ZooError, match="the run diverged"):
        read_run(run)


def test_terminate_on_nan_records_divergence_on_itself():
    from zoo.callbacks import TerminateOnNaN, logs_are_finite

    class Model:
        stop_training = False

    guard = TerminateOnNaN()
    guard.set_model(Model())
    guard.on_train_begin()
    guard.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 0.7})
    assert not guard.diverged and not guard.model.stop_training
    guard.on_train_batch_end(1, {"d_loss": float("inf"), "g_loss": 0.7})
    assert guard.diverged and guard.model.stop_training and not hasattr(guard.model, "diverged")
    assert not logs_are_finite({"d_loss": float("nan")}) and logs_are_finite({"d_loss": 1.0, "note": "x"})
