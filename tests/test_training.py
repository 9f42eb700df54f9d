"""`zoo.training.train`: run folders, resuming, NaN safety, reproducibility."""

import hashlib
import json

import keras
import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.training import train
from model_helpers import EpochRecorder, Kill  # noqa: E402

SHORT = dict(batch_size=32, steps_per_epoch=2, take=512, verbose=0, sample_count=4)


def test_run_folder_has_model_samples_logs_and_settings(tmp_path):
    gan, history = train("dcgan", out=tmp_path, epochs=2, seed=0, **SHORT)
    assert (tmp_path / "model.keras").is_file()
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert list((tmp_path / "logs" / "train").iterdir()), "no TensorBoard scalars"
    assert list((tmp_path / "logs" / "samples").iterdir()), "no TensorBoard images"
    settings = json.loads((tmp_path / "run.json").read_text())
    assert settings["variant"] == "dcgan" and settings["variant_config"]["image_shape"] == [28, 28, 1]
    assert settings["data_source"].startswith("idx:")
    assert not (tmp_path / "backup").exists(), "a finished run keeps no backup"
    assert len(history.history["g_loss"]) == 2


def test_killed_run_resumes_at_the_next_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train("mlp_gan", out=tmp_path, epochs=3, seed=0, callbacks=[Kill(at=1)], **SHORT)
    assert (tmp_path / "backup").exists()
    assert (tmp_path / "samples" / "epoch_001.png").exists()
    assert not (tmp_path / "samples" / "epoch_002.png").exists()

    recorder = EpochRecorder()
    gan, _ = train("mlp_gan", out=tmp_path, epochs=3, seed=0, callbacks=[recorder], **SHORT)
    assert recorder.epochs == [1, 2], "resumed run must start at epoch 2 (index 1)"
    result = json.loads((tmp_path / "run.json").read_text())["result"]
    assert result["seconds"] > result["seconds_this_session"], "time of the killed session counts too"
    # Optimizer state came back from the backup: 3 epochs x 2 steps in all.
    assert int(gan.g_optimizer.iterations) == 6


def test_nan_stops_training_and_keeps_the_last_good_model(tmp_path):
    train("mlp_gan", out=tmp_path, epochs=1, seed=0, **SHORT)
    model_file = tmp_path / "model.keras"
    good = hashlib.sha256(model_file.read_bytes()).hexdigest()

    # An absurd learning rate makes the losses overflow within a few steps.
    recorder = EpochRecorder()
    train(
        "mlp_gan",
        out=tmp_path / "diverging",
        epochs=3,
        seed=0,
        compile_config={"g_optimizer": keras.optimizers.SGD(1e30), "d_optimizer": keras.optimizers.SGD(1e30)},
        callbacks=[recorder],
        **SHORT,
    )
    assert recorder.epochs == [0], "training must stop in the first epoch"
    assert not (tmp_path / "diverging" / "model.keras").exists()
    assert not list((tmp_path / "diverging").glob("samples/*.png")), "a diverged epoch gets no sample grid"
    assert json.loads((tmp_path / "diverging" / "run.json").read_text())["result"]["diverged"] is True
    assert hashlib.sha256(model_file.read_bytes()).hexdigest() == good


def test_same_seed_same_run(tmp_path):
    first, _ = train("mlp_gan", out=tmp_path / "a", epochs=1, seed=7, **SHORT)
    second, _ = train("mlp_gan", out=tmp_path / "b", epochs=1, seed=7, **SHORT)
    third, _ = train("mlp_gan", out=tmp_path / "c", epochs=1, seed=8, **SHORT)
    np.testing.assert_allclose(first.generate(4, seed=0), second.generate(4, seed=0), atol=1e-6)
    assert np.abs(first.generate(4, seed=0) - third.generate(4, seed=0)).max() > 1e-3


def test_conditional_variant_gets_labels_and_classes(tmp_path):
    gan, _ = train("cgan", out=tmp_path, epochs=1, seed=0, **SHORT)
    assert gan.num_classes == 10
    settings = json.loads((tmp_path / "run.json").read_text())
    assert settings["class_names"][0] == "T-shirt/top"


def test_recipe_file_drives_a_run(tmp_path):
    from zoo.cli import main

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'name = "tiny"\nvariant = "mlp_gan"\ndataset = "fashion_mnist"\nepochs = 1\n'
        "batch_size = 32\nsteps_per_epoch = 2\nseed = 3\ntake = 256\n"
        "[variant_config]\nlatent_dim = 16\n"
        '[compile]\nloss = "minimax"\n'
        'g_optimizer = { class_name = "Adam", learning_rate = 1e-3, beta_1 = 0.5 }\n'
    )
    assert main(["train", "--recipe", str(recipe), "--out", str(tmp_path / "run"), "--verbose", "0"]) == 0
    settings = json.loads((tmp_path / "run" / "run.json").read_text())
    assert settings["variant_config"]["latent_dim"] == 16 and settings["seed"] == 3
    assert settings["compile_config"]["loss"] == "minimax"
    assert settings["result"]["generator_steps"] == 2
    gan = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert gan.latent_dim == 16 and type(gan.loss_fn).__name__ == "MinimaxLoss"
    assert gan.g_optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_one_loaded_recipe_trains_several_seeds(tmp_path):
    """Benchmarks reuse one `load_recipe` result: each run must get its own optimizers."""
    from zoo.recipes import load_recipe

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'variant = "dcgan"\nepochs = 1\n[compile]\n'
        'g_optimizer = { class_name = "Adam", learning_rate = 3e-4, beta_1 = 0.5 }\n'
        'd_optimizer = { class_name = "Adam", learning_rate = 1e-4 }\n'
    )
    settings = load_recipe(recipe)
    learning_rates = []
    for seed in (0, 1):
        settings.update(seed=seed, **SHORT)
        gan, history = train(out=str(tmp_path / f"seed{seed}"), **settings)
        assert np.isfinite(history.history["d_loss"][-1])
        learning_rates.append(float(gan.d_optimizer.learning_rate.numpy()))
    assert learning_rates == pytest.approx([1e-4, 1e-4])


def test_bad_recipe_is_a_one_line_error(tmp_path, capsys):
    from zoo.cli import main

    recipe = tmp_path / "recipe.toml"
    recipe.write_text('variant = "dcgan"\nepoch = 3\n')
    assert main(["train", "--recipe", str(recipe)]) == 2
    assert "unknown key 'epoch'" in capsys.readouterr().err


def test_recipe_trains_in_bfloat16_with_float32_weights(tmp_path):
    from zoo.cli import main

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'variant = "dcgan"\nepochs = 1\nbatch_size = 16\nsteps_per_epoch = 2\nseed = 0\n'
        'take = 256\nmixed_precision = "bfloat16"\n[variant_config]\nema_decay = 0.9\n'
    )
    assert main(["train", "--recipe", str(recipe), "--out", str(tmp_path / "run"), "--verbose", "0"]) == 0
    settings = json.loads((tmp_path / "run" / "run.json").read_text())
    assert settings["mixed_precision"] == "mixed_bfloat16"
    gan = keras.saving.load_model(tmp_path / "run" / "model.keras")
    conv = next(layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    # bfloat16 has float32's exponent range: no loss scaling.
    assert not isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(weight.dtype == "float32" for weight in gan.inference_generator.weights)
    images = gan.generate(4, seed=0)
    assert images.dtype == np.float32 and np.isfinite(images).all() and images.std() > 0


@pytest.mark.parametrize("value", ["int8", "half"])
def test_unknown_mixed_precision_is_a_one_line_error(tmp_path, value, capsys):
    from zoo.cli import main
    from zoo.training import mixed_precision_policy

    with pytest.raises(ZooError, match=f"Unknown mixed_precision '{value}'. Use 'float16', 'bfloat16'"):
        mixed_precision_policy(value)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'variant = "dcgan"\nmixed_precision = "{value}"\n')
    assert main(["train", "--recipe", str(recipe), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "recipe.toml: Unknown mixed_precision" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_time_budget_stops_mid_epoch_and_still_saves(tmp_path):
    gan, history = train("mlp_gan", out=tmp_path, epochs=50, seed=0, max_minutes=0.0, **SHORT)
    assert len(history.history["g_loss"]) == 1 and int(gan.g_optimizer.iterations) == 1
    assert (tmp_path / "model.keras").is_file()


def test_evaluate_every_puts_metrics_in_the_history(tmp_path):
    gan, history = train("mlp_gan", out=tmp_path, epochs=2, seed=0, evaluate_every=2, **SHORT)
    assert len(history.history["fd"]) >= 1
    assert np.isfinite(history.history["fd"][-1]) and history.history["fd"][-1] > 0
    assert 0.0 <= history.history["coverage"][-1] <= 1.0


def test_train_run_takes_a_run_config_and_records_it(tmp_path):
    from zoo.run_config import RunConfig, read_run_record
    from zoo.training import train_run

    config = RunConfig("mlp_gan", epochs=1, batch_size=32, steps_per_epoch=2, take=512, seed=0, sample_count=4,
                       variant_config={"latent_dim": 16})
    gan, _ = train_run(config, out=tmp_path, verbose=0)
    record = read_run_record(tmp_path / "run.json")
    assert record.config.replace(variant_config=config.variant_config) == config
    assert record.config.variant_config["latent_dim"] == 16 and record.config.variant_config["image_shape"] == (28, 28, 1)
    assert record.result.generator_steps == 2 and record.result.images_seen == 64 and not record.result.diverged
    assert record.class_names[0] == "T-shirt/top" and record.data_source.startswith("idx:") and gan.latent_dim == 16
