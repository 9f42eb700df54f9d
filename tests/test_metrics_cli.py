"""`zoo evaluate` and `zoo train-classifier` on the command line."""

import gzip
import json
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import zoo
from cli_helpers import one_line_error
from zoo.cli import main
from zoo.files import sha256_file
from zoo.metrics import published


@pytest.fixture(scope="module")
def dcgan_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    zoo.create("dcgan", seed=0).save(path)
    return path


def test_evaluate_json_records_metrics_and_protocol(dcgan_file, capsys, tmp_path):
    out = tmp_path / "scores.json"
    argv = ["evaluate", str(dcgan_file), "--dataset", "fashion_mnist", "--n", "200", "--seed", "1", "--json", "--out", str(out)]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    metrics, protocol = printed["metrics"], printed["protocol"]
    for name in ("fd", "kid", "kid_std", "classifier_score", "precision", "recall", "density", "coverage"):
        assert isinstance(metrics[name], float), name
    assert metrics["conditional_accuracy"] is None and metrics["inception_fid"] is None
    assert protocol["reference_split"] == "test" and protocol["reference_count"] == 10_000
    assert (protocol["n"], protocol["seed"], protocol["knn"]["k"]) == (200, 1, 5)
    assert protocol["classifier"]["sha256"] == published.find_classifier("fashion_mnist").sha256
    assert protocol["resize"] == "none"
    assert printed["runtime"]["total"] > 0
    assert printed["source"]["sha256"] == sha256_file(dcgan_file)


def test_evaluate_in_a_fresh_process(dcgan_file):
    # Nothing imported beforehand: the saved GAN must still deserialize.
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "evaluate", str(dcgan_file), "--n", "50", "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["protocol"]["n"] == 50


def test_evaluate_prints_a_table(dcgan_file, capsys):
    assert main(["evaluate", str(dcgan_file), "--n", "100"]) == 0
    out = capsys.readouterr().out
    for label in ("Fréchet distance", "KID", "classifier score", "precision", "recall", "density", "coverage", "predicted classes", "runtime"):
        assert label in out


def test_inception_fid_is_skipped_with_a_message_when_weights_are_not_local(dcgan_file, capsys, monkeypatch, tmp_path):
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("zoo.metrics.inception.cache_dirs", lambda: [str(tmp_path / "keras" / "models")])

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    assert main(["evaluate", str(dcgan_file), "--n", "100", "--inception", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["metrics"]["inception_fid"] is None
    assert any(note.startswith("Inception-FID skipped:") and "never downloads" in note for note in printed["notes"])


def test_reference_figures_on_the_command_line(capsys):
    assert main(["evaluate", "--reference", "fashion_mnist", "--n", "300", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"train_vs_test", "one_image_repeated", "noise_vs_test"}
    assert printed["train_vs_test"]["metrics"]["fd"] < printed["noise_vs_test"]["metrics"]["fd"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["evaluate", "no/such/model.keras"], "No such model file or folder: no/such/model.keras"),
        (["evaluate", "MODEL", "--dataset", "fashon_mnist"], "Unknown data set 'fashon_mnist'"),
        (["evaluate", "MODEL", "--n", "0"], "--n must be a positive integer. Received: --n 0"),
        (["evaluate", "MODEL", "--n", "-5"], "--n must be a positive integer"),
        (["evaluate", "MODEL", "--n", "3"], "Too few samples for the k-NN metrics"),
        (["evaluate"], "Pass either a MODEL to score or --reference DATASET"),
        (["evaluate", "MODEL", "--dataset", "mnist"], "No published classifier for data set 'mnist'"),
        (["evaluate", "notes.txt"], "is not a .keras file"),
    ],
)
def test_bad_evaluate_requests_are_one_line_errors(dcgan_file, capsys, monkeypatch, tmp_path, argv, expected):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(published.ENV_DIR, raising=False)
    (tmp_path / "notes.txt").write_text("not a model")
    argv = [str(dcgan_file) if part == "MODEL" else part for part in argv]
    # mnist "exists" (a tiny local copy) but has no published classifier.
    write_idx_dataset(tmp_path / "mnist", train=64, test=16)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    assert expected in one_line_error(capsys, argv)


def test_a_tampered_classifier_is_a_one_line_error(dcgan_file, capsys, tmp_path):
    folder = tmp_path / "classifier"
    shutil.copytree(published.find_classifier("fashion_mnist").path.rsplit("/", 1)[0], folder)
    facts = json.loads((folder / "classifier.json").read_text())
    facts["sha256"] = "0" * 64
    (folder / "classifier.json").write_text(json.dumps(facts))
    error = one_line_error(capsys, ["evaluate", str(dcgan_file), "--n", "100", "--classifier", str(folder)])
    assert "does not match the sha256 in classifier.json" in error


def write_idx_dataset(folder, train, test, seed=0):
    """A tiny MNIST-format data set: class c is a bright square at a class-specific place."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("t10k", test)):
        labels = (np.arange(count) % 10).astype(np.uint8)
        images = rng.integers(0, 40, (count, 28, 28), dtype=np.uint8)
        for index, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[index, 4 + 10 * row : 12 + 10 * row, 2 + 5 * col : 6 + 5 * col] = 250
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as file:
            file.write(struct.pack(">IIII", 0x803, count, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as file:
            file.write(struct.pack(">II", 0x801, count) + labels.tobytes())
    return folder


def test_train_classifier_publishes_a_verified_file(capsys, tmp_path, monkeypatch):
    data_dir = write_idx_dataset(tmp_path / "data" / "mnist", train=512, test=128)
    out = tmp_path / "classifiers" / "mnist"
    argv = ["train-classifier", "mnist", "--data-dir", str(data_dir), "--out", str(out), "--epochs", "1", "--batch-size", "64", "--verbose", "0"]
    status = main(argv)
    captured = capsys.readouterr()
    facts = json.loads((out / "classifier.json").read_text())
    assert facts["sha256"] == sha256_file(out / "classifier.keras")
    assert facts["size"] == (out / "classifier.keras").stat().st_size
    assert facts["dataset"] == "mnist" and facts["seed"] == 0 and facts["feature_dim"] == 128
    assert facts["command"].startswith("zoo train-classifier mnist --out ")
    assert f"sha256 {facts['sha256']}" in captured.out
    # The 99% bar of a published MNIST classifier is not met by a 1-epoch toy run.
    assert (status == 1) == (facts["test_accuracy"] < 0.99)
    # Found through ZOO_CLASSIFIERS_DIR, verified, and usable.
    monkeypatch.setenv(published.ENV_DIR, str(tmp_path / "classifiers"))
    assert published.find_classifier("mnist").verified
    assert "already exists. Pass --force" in one_line_error(capsys, argv)
