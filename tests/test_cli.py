"""The `zoo` command line, run in-process through `zoo.cli.main`."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cli_helpers import one_line_error
from zoo.cli import main


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory):
    """A short `zoo train` run of dcgan and cgan on real Fashion-MNIST."""
    root = tmp_path_factory.mktemp("runs")
    paths = {}
    for variant in ("dcgan", "cgan"):
        out = root / variant
        status = main([
            "train", variant, "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "32",
            "--take", "256", "--seed", "0", "--out", str(out), "--verbose", "0",
        ])
        assert status == 0
        paths[variant] = out / "model.keras"
    return paths


def test_list_shows_every_variant(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("mlp_gan", "dcgan", "cgan"):
        assert name in out
    assert "conditional" in out


def test_sample_writes_a_grid_png(trained_models, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", str(trained_models["dcgan"]), "--n", "16", "--seed", "0", "--out", str(out)]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 tiles of 28 px + 2 px padding
    again = tmp_path / "again.png"
    main(["sample", str(trained_models["dcgan"]), "--n", "16", "--seed", "0", "--out", str(again)])
    assert out.read_bytes() == again.read_bytes()


def test_sample_with_truncation(trained_models, tmp_path):
    """`--truncation PSI` draws the grid of `GAN.generate(..., truncation=PSI)`; 1 is no truncation."""
    from zoo.images import make_grid, to_uint8
    from zoo.loading import load_gan

    paths = {name: tmp_path / f"{name}.png" for name in ("plain", "one", "half")}
    for name, extra in (("plain", []), ("one", ["--truncation", "1"]), ("half", ["--truncation", "0.5"])):
        argv = ["sample", str(trained_models["dcgan"]), "--n", "9", "--seed", "3", "--out", str(paths[name]), *extra]
        assert main(argv) == 0
    assert paths["one"].read_bytes() == paths["plain"].read_bytes()
    gan = load_gan(trained_models["dcgan"])
    expected = make_grid(to_uint8(gan.generate(9, seed=3, truncation=0.5)))[..., 0]
    np.testing.assert_array_equal(np.asarray(Image.open(paths["half"])), expected)
    assert paths["half"].read_bytes() != paths["plain"].read_bytes()


def test_sample_with_labels_for_conditional_model(trained_models, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["sample", str(trained_models["cgan"]), "--n", "4", "--labels", "1", "--out", str(a)]) == 0
    assert main(["sample", str(trained_models["cgan"]), "--n", "4", "--labels", "2,2,2,2", "--out", str(b)]) == 0
    assert a.read_bytes() != b.read_bytes()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "dcgn"], "Unknown variant 'dcgn'"),
        (["train", "dcgan", "--dataset", "fashon_mnist"], "Unknown data set 'fashon_mnist'"),
        (["train", "dcgan", "--dataset", "mnist"], "Data set 'mnist' was not found"),
        (["train", "dcgan", "--latent-dim", "0"], "latent_dim must be a positive integer"),
        (["train", "dcgan", "--epochs", "0"], "epochs must be a positive integer"),
        (["sample", "no/such/model.keras"], "No such model file: no/such/model.keras"),
        (["sample", "notes.txt"], "is not a .keras file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path, argv, expected):
    from zoo import data

    monkeypatch.setitem(data.SYSTEM_DATA_DIRS, "mnist", (str(tmp_path),))
    (tmp_path / "notes.txt").write_text("not a model")
    monkeypatch.chdir(tmp_path)
    assert expected in one_line_error(capsys, argv)


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--labels", "10"], "Label out of range. Received: label=10"),
        (["--labels", "1.5"], "--labels takes integers"),
        (["--labels", "1,2"], "one label per image"),
        (["--n", "0"], "positive integer"),
    ],
)
def test_bad_sample_requests(trained_models, capsys, tmp_path, extra, expected):
    argv = ["sample", str(trained_models["cgan"]), "--n", "4", "--out", str(tmp_path / "x.png"), *extra]
    if "--n" in extra:
        argv = ["sample", str(trained_models["cgan"]), "--out", str(tmp_path / "x.png"), *extra]
    assert expected in one_line_error(capsys, argv)
    assert not (tmp_path / "x.png").exists()


def test_sample_rejects_a_keras_file_that_is_not_a_gan(tmp_path, capsys):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.save(tmp_path / "plain.keras")
    assert "not a zoo GAN" in one_line_error(capsys, ["sample", str(tmp_path / "plain.keras")])


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("train", "sample", "list"):
        assert command in result.stdout



def _unwritable_folder(tmp_path):
    """A folder no file can be created in: a read-only folder, or /sys for root (who ignores modes)."""
    import os
    import tempfile

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    for candidate in (str(locked), "/sys"):
        try:
            with tempfile.TemporaryFile(dir=candidate):
                pass
        except OSError:
            return candidate
    pytest.skip("no unwritable folder here")


MODEL = "{model}"
UNWRITABLE = "{unwritable}"


@pytest.mark.parametrize(
    "argv, expected",
    [
        # zoo train: paths
        (["train", "dcgan", "--out", "notes.txt"], "--out must be a folder, but"),
        (["train", "dcgan", "--out", "notes.txt/run"], "notes.txt is a file, not a folder"),
        (["train", "dcgan", "--out", UNWRITABLE + "/run"], "--out is not writable"),
        (["train", "dcgan", "--data-dir", "no/such/folder"], "--data-dir does not exist"),
        (["train", "dcgan", "--data-dir", "notes.txt"], "--data-dir is not a folder"),
        (["train", "dcgan", "--data-dir", "empty", "--out", "run"], "--data-dir holds no fashion_mnist files"),
        # zoo train: numbers
        (["train", "dcgan", "--seed", "-1"], "seed must be an integer in 0..4294967295. Received: seed=-1."),
        (["train", "dcgan", "--seed", str(2**32)], "seed must be an integer in 0..4294967295"),
        (["train", "dcgan", "--max-minutes", "-1"], "max_minutes must be a finite number >= 0. Received: max_minutes=-1.0"),
        (["train", "dcgan", "--max-minutes", "nan"], "max_minutes must be a finite number >= 0"),
        (["train", "dcgan", "--take", "0"], "take must be a positive integer"),
        (["train", "dcgan", "--batch-size", "0"], "batch_size must be a positive integer"),
        (["train", "dcgan", "--steps-per-epoch", "-5"], "steps_per_epoch must be a positive integer"),
        (["train", "dcgan", "--evaluate-every", "0"], "evaluate_every must be a positive integer"),
        (["train", "dcgan", "--steps-per-execution", "0"], "--steps-per-execution must be a positive integer"),
        # zoo sample
        (["sample", MODEL, "--n", "100000000"], "Too many images requested. Received: n=100000000. Allowed: 1..10000."),
        (["sample", MODEL, "--n", "4", "--columns", "0"], "--columns must be an integer in 1..4. Received: --columns 0."),
        (["sample", MODEL, "--n", "4", "--columns", "5"], "--columns must be an integer in 1..4"),
        (["sample", MODEL, "--seed", "-1"], "--seed must be an integer in 0..4294967295"),
        (["sample", MODEL, "--truncation", "1.5"], "--truncation must be a number in (0, 1]. Received: --truncation 1.5."),
        (["sample", MODEL, "--truncation", "0"], "--truncation must be a number in (0, 1]. Received: --truncation 0.0."),
        (["sample", MODEL, "--truncation", "nan"], "--truncation must be a number in (0, 1]"),
        (["sample", MODEL, "--out", "folder"], "--out must be a file, but"),
        (["sample", MODEL, "--out", "notes.txt/grid.png"], "notes.txt is a file, not a folder"),
        (["sample", MODEL, "--out", UNWRITABLE + "/grid.png"], "--out is not writable"),
        # zoo train-classifier
        (["train-classifier", "fashion_mnist", "--out", "notes.txt"], "--out must be a folder, but"),
        (["train-classifier", "fashion_mnist", "--out", UNWRITABLE + "/c"], "--out is not writable"),
        (["train-classifier", "fashion_mnist", "--seed", "-1"], "--seed must be an integer in 0..4294967295"),
        (["train-classifier", "fashion_mnist", "--epochs", "0"], "--epochs must be a positive integer"),
        (["train-classifier", "fashion_mnist", "--batch-size", "-2"], "--batch-size must be a positive integer"),
        (["train-classifier", "fashion_mnist", "--data-dir", "no/such"], "--data-dir does not exist"),
        (["train-classifier", "fashion_mnist", "--data-dir", "empty", "--out", "c"], "--data-dir holds no fashion_mnist files"),
        # zoo export (argument checks only)
        (["export", MODEL, "--out", "x", "--training-steps", "-5"], "--training-steps must be a non-negative integer"),
        (["export", MODEL, "--out", "x", "--seed", "-1"], "--seed must be an integer in 0..4294967295"),
    ],
)
def test_paths_and_numbers_are_checked_before_any_work(trained_models, capsys, monkeypatch, tmp_path, argv, expected):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("the user's notes")
    (work / "folder").mkdir()
    (work / "empty").mkdir()
    unwritable = _unwritable_folder(tmp_path) if UNWRITABLE in " ".join(argv) else None
    argv = [arg.replace(MODEL, str(trained_models["dcgan"])).replace(UNWRITABLE, str(unwritable)) for arg in argv]
    monkeypatch.chdir(work)
    assert expected in one_line_error(capsys, argv)
    # Nothing was written: the check came before the work.
    assert sorted(path.name for path in work.iterdir()) == ["empty", "folder", "notes.txt"]
    assert (work / "notes.txt").read_text() == "the user's notes" and not list((work / "folder").iterdir())
