"""The whole GAN as a published file (`format="gan"`) and `zoo train --init-from`, with real parts.

A conditional GAN is trained for two steps on the real Fashion-MNIST and
published into a temporary repository (`zoo.publish.publish_run`); its
`export/` is served by `http.server` on 127.0.0.1. The tests download
`gan.keras` through the hub (sha256-checked), continue its `fit`, and
fine-tune it with `zoo train --init-from` on folders of real Fashion-MNIST
PNGs that they write.
"""

import json
import os
import shutil
import types

import numpy as np
import pytest

from cli_helpers import one_line_error
from test_hub import flip_byte, serve
from zoo import hub
from zoo.cli import main
from zoo.errors import ZooError
from zoo.files import sha256_file

NAME = "test-cgan-fashion-mnist"
RECIPE = (
    f'name = "{NAME}"\ndescription = "A cgan trained for two steps, for tests."\nvariant = "cgan"\n'
    'dataset = "fashion_mnist"\nepochs = 1\nbatch_size = 32\nsteps_per_epoch = 2\ntake = 256\nseed = 0\n'
    "[variant_config]\nema_decay = 0.999\n"
)
CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
TUNE = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--verbose", "0"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A temporary repository with one published cgan; returns its root."""
    from zoo import publish, training

    root = tmp_path_factory.mktemp("repo")
    (root / "zoo").mkdir()
    (root / "models" / NAME).mkdir(parents=True)
    (root / "models" / NAME / "recipe.toml").write_text(RECIPE)
    run = root / "runs" / NAME
    training.train("cgan", out=str(run), epochs=1, steps_per_epoch=2, batch_size=32, take=256, seed=0,
                   variant_config={"ema_decay": 0.999}, verbose=0)
    publish.publish_run(run, NAME, repo_root=root, n_eval=0)
    return root


@pytest.fixture
def env(published, tmp_path, monkeypatch):
    """The hub pointed at the test catalogue, a served copy of its export/ and an empty cache."""
    copy = tmp_path / "served"
    shutil.copytree(published / "export", copy)
    monkeypatch.setenv("ZOO_CATALOGUE", str(published / "zoo" / "catalogue.json"))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    with serve(copy) as (_, url):
        monkeypatch.setenv("ZOO_HUB_URL", url)
        yield types.SimpleNamespace(folder=copy, cache=tmp_path / "cache", tmp=tmp_path)


@pytest.fixture(scope="module")
def png_folders(tmp_path_factory):
    """Real Fashion-MNIST test images as PNGs: by class (28x28 grey), 3 classes only, and 32x32 RGB."""
    from PIL import Image

    from zoo import data

    images, labels = data.load_arrays("fashion_mnist", "test")
    root = tmp_path_factory.mktemp("pngs")
    for label, class_name in enumerate(CLASS_NAMES):
        for index in np.flatnonzero(labels == label)[:4]:
            pixels = np.asarray(images[index]).reshape(28, 28)
            for folder, count in (("by-class", 10), ("three-classes", 3)):
                if label < count:
                    (root / folder / class_name).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(pixels, mode="L").save(root / folder / class_name / f"{index}.png")
            (root / "rgb32" / class_name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels, mode="L").convert("RGB").resize((32, 32)).save(
                root / "rgb32" / class_name / f"{index}.png"
            )
    return root


def iterations(gan):
    return int(gan.g_optimizer.iterations.numpy()), int(gan.d_optimizer.iterations.numpy())


# ------------------------------------------------------------ the GAN file


def test_the_publication_ships_the_gan_file_listed_and_verified(published, capsys):
    from zoo.export.manifest import read_manifest

    folder = published / "export" / NAME
    manifest = read_manifest(folder)
    assert manifest["formats"]["gan"] == "gan.keras"
    assert manifest["files"]["gan.keras"]["sha256"] == sha256_file(folder / "gan.keras")
    assert [row for row in manifest["parity"]["rows"] if "gan" in row["format"]] == []  # not an inference format
    entry = hub.load_catalogue(published / "zoo" / "catalogue.json").get(NAME)
    assert entry.files["gan"].path == "gan.keras" and entry.files["gan"].sha256 == sha256_file(folder / "gan.keras")
    assert main(["verify", str(folder)]) == 0 and "verification passed" in capsys.readouterr().out


def test_pretrained_gan_downloads_checked_and_fit_continues(env):
    from zoo import data
    from zoo.gan import GAN

    entry = hub.get_entry(NAME)
    path = hub.download(NAME, format="gan")
    assert sha256_file(path) == entry.files["gan"].sha256
    gan = hub.pretrained(NAME, format="gan")
    assert isinstance(gan, GAN) and gan.ema_generator is not None and gan.discriminator is not None
    assert iterations(gan) == (2, 2)  # the published run's two steps
    batches = data.load("fashion_mnist", split="train", batch_size=16, with_labels=True, take=64)
    gan.fit(batches, epochs=1, steps_per_epoch=1, verbose=0)
    assert iterations(gan) == (3, 3)
    generator = hub.pretrained(NAME)  # the default stays the generator alone
    assert not isinstance(generator, GAN) and generator.count_params() == entry.parameters


def test_a_corrupted_gan_file_is_refused_and_not_cached(env):
    flip_byte(env.folder / NAME / "gan.keras")
    with pytest.raises(ZooError, match="sha256 mismatch") as caught:
        hub.download(NAME, format="gan")
    assert "\n" not in str(caught.value)
    cached = [name for _, _, files in os.walk(env.cache) for name in files]
    assert "gan.keras" not in cached and not [name for name in cached if ".part-" in name]


def test_pretrained_refuses_other_formats_in_one_line(env):
    with pytest.raises(ZooError, match=r"Available: keras, gan .*Did you mean 'gan'"):
        hub.pretrained(NAME, format="gna")


def test_published_entries_without_a_gan_file_still_load_and_say_so(capsys, monkeypatch):
    monkeypatch.delenv("ZOO_CATALOGUE", raising=False)
    catalogue = hub.load_catalogue()
    for entry in catalogue:  # published before GAN files: they load as before, without "gan"
        assert "gan" not in entry.files and {"keras", "onnx", "manifest"} <= set(entry.files)
    name = catalogue.names()[0]
    with pytest.raises(ZooError, match=rf"'{name}' was published without its GAN file") as caught:
        hub.download(name, format="gan")
    assert "\n" not in str(caught.value) and "--init-from" in str(caught.value)
    line = one_line_error(capsys, ["download", name, "--format", "gan"])
    assert "without its GAN file" in line


# --------------------------------------------------------- zoo train --init-from


def test_zoo_train_init_from_a_path_fine_tunes_on_a_png_folder(env, png_folders, capsys):
    from zoo.loading import load_gan

    path = hub.download(NAME, format="gan")
    out = env.tmp / "tuned"
    status = main(["train", "--init-from", path, "--dataset", str(png_folders / "by-class"), "--out", str(out), *TUNE])
    assert status == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["variant"] == "cgan" and run["init_from"] == path and run["init_from_sha256"] == sha256_file(path)
    assert run["data_source"].startswith("folder:") and run["result"]["generator_steps"] == 4
    assert iterations(load_gan(out / "model.keras")) == (4, 4)  # 2 published + 2 fine-tuning steps


def test_init_from_a_name_downloads_and_an_interrupted_fine_tune_resumes_from_its_run_folder(env, png_folders):
    import keras

    from zoo import training
    from zoo.run_config import RunConfig, read_run_record

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    out = env.tmp / "resumed"
    config = RunConfig("cgan", dataset=str(png_folders / "by-class"), epochs=2, steps_per_epoch=2, batch_size=8,
                       init_from=NAME)
    with pytest.raises(KeyboardInterrupt):
        training.train_run(config, out=out, callbacks=[Stop()], verbose=0)
    assert (out / "backup").is_dir()
    gan, history = training.train_run(config.replace(steps_per_epoch=1), out=out, verbose=0)
    assert history.epoch == [1]  # the run folder's epoch 1 was restored, not the published GAN
    assert iterations(gan) == (2 + 2 + 1, 2 + 2 + 1)
    record = read_run_record(out / "run.json")
    assert record.config.init_from == NAME
    assert record.init_from_sha256 == hub.get_entry(NAME).files["gan"].sha256


@pytest.mark.parametrize(
    "folder, expected",
    [
        ("rgb32", r"makes 28x28x1 images, but the data set holds 32x32x3 images"),
        ("three-classes", r"conditional on 10 classes, but the data set has 3 classes"),
    ],
)
def test_a_data_set_that_does_not_fit_the_gan_is_exit_2_in_one_line(env, png_folders, capsys, folder, expected):
    import re

    out = env.tmp / "mismatch"
    line = one_line_error(
        capsys, ["train", "--init-from", NAME, "--dataset", str(png_folders / folder), "--out", str(out), *TUNE]
    )
    assert re.search(expected, line), line
    assert not (out / "model.keras").exists()


def test_init_from_errors_are_one_line(env, png_folders, capsys):
    dataset = ["--dataset", str(png_folders / "by-class"), "--out", str(env.tmp / "bad"), *TUNE]
    line = one_line_error(capsys, ["train", "--init-from", "test-cgan-fashion-mnst", *dataset])
    assert "Unknown pretrained generator" in line and "test-cgan-fashion-mnist" in line
    generator = hub.download(NAME, format="keras")
    line = one_line_error(capsys, ["train", "--init-from", generator, *dataset])
    assert "is not a zoo GAN file" in line and "generator.keras" in line
    line = one_line_error(capsys, ["train", "cgan", "--init-from", generator, *dataset])
    assert "not a zoo GAN" in line
    line = one_line_error(capsys, ["train", "dcgan", "--init-from", hub.download(NAME, format="gan"), *dataset])
    assert "is a 'cgan', not a 'dcgan'" in line
    line = one_line_error(capsys, ["train", "--init-from", "no/such/gan.keras", *dataset])
    assert "no such file" in line
