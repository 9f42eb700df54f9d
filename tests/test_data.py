"""Tests for zoo.data on the real Fashion-MNIST and on small synthetic files."""

import gzip
import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from zoo import data
from zoo.data import arrays, locate
from zoo.errors import ZooError

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

needs_fashion = pytest.mark.skipif(
    not all(os.path.isfile(os.path.join(FASHION_DIR, f)) for f in IDX_FILES),
    reason=f"Fashion-MNIST IDX files not installed in {FASHION_DIR}",
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Never let tensorflow-datasets reach the network; ignore the user's
    ZOO_DATA_DIR."""
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)


@pytest.fixture
def no_system_dirs(monkeypatch):
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {})


def link_fashion_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for file_name in IDX_FILES:
        os.symlink(os.path.join(FASHION_DIR, file_name), folder / file_name)
    return folder


def first_batch(dataset):
    return next(iter(dataset))


# --- Real Fashion-MNIST, found automatically --------------------------------


@needs_fashion
def test_fashion_train_arrays():
    images, labels = data.load_arrays("fashion_mnist")
    assert images.shape == (60000, 28, 28, 1)
    assert images.dtype == np.uint8
    assert labels.shape == (60000,)
    assert labels.dtype == np.int32
    assert set(np.unique(labels).tolist()) == set(range(10))
    assert images.min() == 0 and images.max() == 255


@needs_fashion
def test_fashion_test_split():
    images, labels = data.load_arrays("fashion_mnist", split="test")
    assert images.shape == (10000, 28, 28, 1)
    assert labels.shape == (10000,)


@needs_fashion
def test_arrays_are_cached_and_read_only():
    images, labels = data.load_arrays("fashion_mnist", split="test")
    again, _ = data.load_arrays("fashion_mnist", split="test")
    assert again is images
    with pytest.raises(ValueError):
        images[0, 0, 0, 0] = 1
    with pytest.raises(ValueError):
        labels[0] = 1


@needs_fashion
def test_fashion_info():
    info = data.info("fashion_mnist")
    assert info.name == "fashion_mnist"
    assert info.image_shape == (28, 28, 1)
    assert info.num_classes == 10
    assert info.class_names[0] == "T-shirt/top"
    assert info.class_names[-1] == "Ankle boot"
    assert info.source == f"idx:{FASHION_DIR}"


@needs_fashion
def test_load_batch_is_scaled_float32_with_int32_labels():
    dataset = data.load("fashion_mnist", batch_size=256, seed=0)
    images_spec, labels_spec = dataset.element_spec
    assert tuple(images_spec.shape) == (256, 28, 28, 1)  # static batch dim
    assert tuple(labels_spec.shape) == (256,)

    images, labels = first_batch(dataset)
    images = images.numpy()
    assert images.dtype == np.float32
    assert images.shape == (256, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.min() < -0.99 and images.max() > 0.99
    assert labels.dtype.name == "int32"
    assert set(labels.numpy().tolist()) <= set(range(10))


@needs_fashion
def test_unshuffled_batch_matches_arrays():
    arrays, array_labels = data.load_arrays("fashion_mnist", split="test")
    dataset = data.load("fashion_mnist", "test", batch_size=32, shuffle=False)
    images, labels = first_batch(dataset)
    np.testing.assert_allclose(images.numpy(), arrays[:32] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(labels.numpy(), array_labels[:32])


@needs_fashion
def test_same_seed_same_order_different_seed_different_order():
    def labels_of_first_batch(seed):
        dataset = data.load("fashion_mnist", batch_size=64, seed=seed)
        return first_batch(dataset)[1].numpy()

    first = labels_of_first_batch(7)
    np.testing.assert_array_equal(first, labels_of_first_batch(7))
    assert not np.array_equal(first, labels_of_first_batch(8))


@needs_fashion
def test_without_labels_yields_only_images():
    dataset = data.load("fashion_mnist", "test", batch_size=16, with_labels=False)
    assert tuple(dataset.element_spec.shape) == (16, 28, 28, 1)
    images = first_batch(dataset)
    assert images.shape == (16, 28, 28, 1)


@needs_fashion
def test_take_and_drop_remainder():
    arrays, _ = data.load_arrays("fashion_mnist")
    dataset = data.load(
        "fashion_mnist",
        batch_size=32,
        take=100,
        shuffle=False,
        drop_remainder=False,
        with_labels=False,
    )
    assert dataset.element_spec.shape[0] is None
    batches = [images.numpy() for images in dataset]
    assert [len(b) for b in batches] == [32, 32, 32, 4]
    np.testing.assert_allclose(
        np.concatenate(batches), arrays[:100] / 127.5 - 1.0, atol=1e-6
    )

    dropped = data.load("fashion_mnist", batch_size=32, take=100)
    assert len(list(dropped)) == 3


@needs_fashion
def test_image_size_resizes_and_converts_to_rgb():
    dataset = data.load(
        "fashion_mnist", "test", batch_size=8, take=8, image_size=(32, 32, 3)
    )
    images, _ = first_batch(dataset)
    assert images.shape == (8, 32, 32, 3)
    images = images.numpy()
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_allclose(images[..., 0], images[..., 2])


# --- data_dir and ZOO_DATA_DIR -----------------------------------------------


@needs_fashion
@pytest.mark.parametrize("subfolder", ["fashion_mnist", "fashion-mnist", ""])
def test_data_dir_argument(tmp_path, no_system_dirs, subfolder):
    folder = link_fashion_files(tmp_path / subfolder if subfolder else tmp_path)
    assert data.info("fashion_mnist", data_dir=tmp_path).source == f"idx:{folder}"
    images, labels = data.load_arrays("fashion_mnist", "test", data_dir=tmp_path)
    assert images.shape == (10000, 28, 28, 1)
    dataset = data.load("fashion_mnist", batch_size=8, data_dir=str(tmp_path))
    assert first_batch(dataset)[0].shape == (8, 28, 28, 1)


@needs_fashion
def test_zoo_data_dir_environment_variable(tmp_path, monkeypatch, no_system_dirs):
    folder = link_fashion_files(tmp_path / "fashion_mnist")
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    assert data.info("fashion_mnist").source == f"idx:{folder}"
    images, _ = data.load_arrays("fashion_mnist", "test")
    assert images.shape == (10000, 28, 28, 1)


@needs_fashion
def test_uncompressed_idx_files(tmp_path, no_system_dirs):
    for file_name in IDX_FILES[2:]:  # the test split is enough
        with gzip.open(os.path.join(FASHION_DIR, file_name)) as source:
            (tmp_path / file_name[: -len(".gz")]).write_bytes(source.read())
    images, labels = data.load_arrays("fashion_mnist", "test", data_dir=tmp_path)
    real_images, real_labels = data.load_arrays(
        "fashion_mnist", "test", data_dir=FASHION_DIR
    )
    np.testing.assert_array_equal(images, real_images)
    np.testing.assert_array_equal(labels, real_labels)


@needs_fashion
def test_folder_named_after_another_data_set_is_not_used(tmp_path, monkeypatch):
    link_fashion_files(tmp_path / "fashion-mnist")
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "fashion-mnist"))
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {"mnist": ()})
    with pytest.raises(ZooError, match="'mnist'"):
        data.load_arrays("mnist")


# --- Missing and corrupt data ------------------------------------------------


def test_missing_mnist_gives_one_line_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {"mnist": (str(empty),)})
    with pytest.raises(ZooError) as caught:
        data.load("mnist")
    message = str(caught.value)
    assert "\n" not in message
    assert "'mnist'" in message
    assert "ZOO_DATA_DIR" in message and "data_dir" in message
    assert str(empty) in message
    assert "ZOO_OFFLINE=1" in message
    with pytest.raises(ZooError, match="was not found"):
        data.info("mnist")


def test_tfds_failure_falls_through_to_error(monkeypatch, no_system_dirs):
    monkeypatch.delenv("ZOO_OFFLINE")

    def fail(name, split, data_dir):
        raise ConnectionError("no network\nat all")

    monkeypatch.setattr(arrays, "read_tfds", fail)
    assert data.info("mnist").source == "tfds"
    with pytest.raises(ZooError) as caught:
        data.load_arrays("mnist")
    message = str(caught.value)
    assert "\n" not in message
    assert "tensorflow-datasets could not load it (ConnectionError" in message


def test_unknown_name_suggests_close_match():
    with pytest.raises(ZooError) as caught:
        data.load("fashon_mnist")
    message = str(caught.value)
    assert "Did you mean 'fashion_mnist'" in message
    assert "Received: name='fashon_mnist'" in message
    assert "cifar10, fashion_mnist, mnist" in message


def test_missing_folder_is_unknown(tmp_path):
    with pytest.raises(ZooError, match="Unknown data set"):
        data.info(str(tmp_path / "nope"))


@needs_fashion
@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_idx_file_names_the_file(tmp_path, no_system_dirs, compressed):
    for file_name in IDX_FILES[2:]:
        shutil.copy(os.path.join(FASHION_DIR, file_name), tmp_path / file_name)
    images_path = tmp_path / IDX_FILES[2]
    if compressed:
        raw = images_path.read_bytes()
        images_path.write_bytes(raw[: len(raw) // 2])
    else:
        with gzip.open(images_path) as source:
            raw = source.read()
        images_path.unlink()
        images_path = tmp_path / IDX_FILES[2][: -len(".gz")]
        images_path.write_bytes(raw[:-100])
    with pytest.raises(ZooError) as caught:
        data.load_arrays("fashion_mnist", "test", data_dir=tmp_path)
    message = str(caught.value)
    assert str(images_path) in message
    assert "is not a valid IDX file" in message
    assert "\n" not in message


@needs_fashion
def test_wrong_magic_number(tmp_path, no_system_dirs):
    labels_file = os.path.join(FASHION_DIR, IDX_FILES[3])
    shutil.copy(labels_file, tmp_path / IDX_FILES[2])  # labels posing as images
    shutil.copy(labels_file, tmp_path / IDX_FILES[3])
    with pytest.raises(ZooError, match="magic number 0x00000801, expected 0x00000803"):
        data.load_arrays("fashion_mnist", "test", data_dir=tmp_path)


# --- CIFAR-10 python batches (synthetic) -------------------------------------


def write_cifar(folder, per_batch=20, seed=0):
    """Writes a tiny cifar-10-batches-py folder; returns the raw CHW rows."""
    rng = np.random.default_rng(seed)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rows = {}
    for file_name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"batch_label": file_name.encode(),
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, per_batch).tolist(),
            b"filenames": [b"x.png"] * per_batch,
        }
        (batches / file_name).write_bytes(pickle.dumps(batch, protocol=2))
        rows[file_name] = batch
    return rows


def test_cifar10_from_python_batches(tmp_path):
    rows = write_cifar(tmp_path)
    images, labels = data.load_arrays("cifar10", data_dir=tmp_path)
    assert images.shape == (100, 32, 32, 3)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int32
    first = rows["data_batch_1"]
    np.testing.assert_array_equal(labels[:20], first[b"labels"])
    # HWC pixel (row 5, column 7, channel c) comes from CHW offset c*1024 + 5*32 + 7.
    for channel in range(3):
        expected = first[b"data"][3, channel * 1024 + 5 * 32 + 7]
        assert images[3, 5, 7, channel] == expected
    second = rows["data_batch_2"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(images[20], second)

    test_images, _ = data.load_arrays("cifar10", "test", data_dir=tmp_path)
    assert test_images.shape == (20, 32, 32, 3)

    info = data.info("cifar10", data_dir=tmp_path)
    assert info.image_shape == (32, 32, 3)
    assert info.class_names[0] == "airplane" and info.num_classes == 10
    assert info.source == f"cifar:{tmp_path / 'cifar-10-batches-py'}"

    dataset = data.load("cifar10", batch_size=10, data_dir=tmp_path)
    batch_images, batch_labels = first_batch(dataset)
    assert batch_images.shape == (10, 32, 32, 3)
    assert batch_labels.shape == (10,)


def test_cifar10_refuses_unexpected_pickled_objects(tmp_path):
    write_cifar(tmp_path)
    target = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    # A pickle that would call os.getcwd() when loaded.
    target.write_bytes(pickle.dumps({b"data": os.getcwd}, protocol=2))
    with pytest.raises(ZooError) as caught:
        data.load_arrays("cifar10", data_dir=tmp_path)
    assert str(target) in str(caught.value)
    assert "not a valid CIFAR-10 batch file" in str(caught.value)


def test_cifar10_missing_mentions_the_folder(no_system_dirs):
    with pytest.raises(ZooError, match="cifar-10-batches-py"):
        data.load("cifar10")


# --- Folders of images --------------------------------------------------------


def write_png(path, value, size=(10, 12), mode="RGB"):
    height, width = size
    channels = 3 if mode == "RGB" else 1
    pixels = np.full((height, width, channels), value, dtype=np.uint8)
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(path)


@pytest.fixture
def class_folder(tmp_path):
    root = tmp_path / "classes"
    for name, values in [("class_a", [0, 51, 102]), ("class_b", [204, 255])]:
        (root / name).mkdir(parents=True)
        for i, value in enumerate(values):
            write_png(root / name / f"{i}.png", value)
    return root


def test_image_folder_with_classes(class_folder):
    info = data.info(str(class_folder))
    assert info.image_shape == (10, 12, 3)
    assert info.num_classes == 2
    assert info.class_names == ("class_a", "class_b")
    assert info.source == f"folder:{class_folder}"

    dataset = data.load(str(class_folder), batch_size=5, shuffle=False)
    images, labels = first_batch(dataset)
    assert images.shape == (5, 10, 12, 3)
    assert images.dtype.name == "float32"
    np.testing.assert_array_equal(labels.numpy(), [0, 0, 0, 1, 1])
    expected = np.array([0, 51, 102, 204, 255]) / 127.5 - 1.0
    np.testing.assert_allclose(images.numpy()[:, 4, 6, 1], expected, atol=1e-6)

    arrays, array_labels = data.load_arrays(class_folder)
    assert arrays.shape == (5, 10, 12, 3) and arrays.dtype == np.uint8
    np.testing.assert_array_equal(array_labels, [0, 0, 0, 1, 1])


def test_image_folder_options(class_folder):
    dataset = data.load(
        str(class_folder), batch_size=2, with_labels=False, image_size=(8, 8, 1)
    )
    assert tuple(dataset.element_spec.shape) == (2, 8, 8, 1)
    assert len(list(dataset)) == 2  # 5 images, remainder dropped

    taken = data.load(str(class_folder), batch_size=3, take=3, shuffle=False)
    (images, labels), = list(taken)
    np.testing.assert_array_equal(labels.numpy(), [0, 0, 0])

    with pytest.raises(ZooError, match="larger than the number of examples"):
        data.load(str(class_folder), batch_size=6)
    with pytest.raises(ZooError, match="single split"):
        data.load(str(class_folder), split="test")


def test_flat_grayscale_image_folder(tmp_path):
    for i, value in enumerate([0, 128, 255]):
        write_png(tmp_path / f"{i}.png", value, size=(6, 5), mode="L")
    (tmp_path / "notes.txt").write_text("not an image")
    info = data.info(str(tmp_path))
    assert info.image_shape == (6, 5, 1)
    assert info.num_classes is None and info.class_names is None

    dataset = data.load(str(tmp_path), batch_size=3, shuffle=False)
    images = first_batch(dataset)  # no labels: just images
    assert images.shape == (3, 6, 5, 1)
    np.testing.assert_allclose(
        images.numpy()[:, 0, 0, 0], [-1.0, 128 / 127.5 - 1.0, 1.0], atol=1e-6
    )
    arrays, labels = data.load_arrays(str(tmp_path))
    assert arrays.shape == (3, 6, 5, 1) and labels is None


def test_empty_image_folder(tmp_path):
    (tmp_path / "empty_class").mkdir()
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(ZooError, match="contains no images") as caught:
        data.load(str(tmp_path))
    assert "\n" not in str(caught.value)
    with pytest.raises(ZooError, match="contains no images"):
        data.info(str(tmp_path))


# --- Argument checks -----------------------------------------------------------


@pytest.mark.parametrize("split", ["validation", "TRAIN", None])
def test_bad_split(split):
    with pytest.raises(ZooError, match="Use 'train' or 'test'"):
        data.load("fashion_mnist", split=split)
    with pytest.raises(ZooError, match="Use 'train' or 'test'"):
        data.load_arrays("fashion_mnist", split=split)


@pytest.mark.parametrize("batch_size", [0, -4, 2.5, "64", True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ZooError, match="batch_size"):
        data.load("fashion_mnist", batch_size=batch_size)


@needs_fashion
def test_batch_size_larger_than_data_set():
    with pytest.raises(ZooError, match="batch_size=20000 is larger"):
        data.load("fashion_mnist", split="test", batch_size=20000)
    dataset = data.load(
        "fashion_mnist", "test", batch_size=20000, drop_remainder=False
    )
    assert first_batch(dataset)[0].shape[0] == 10000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"take": 0},
        {"take": 1.5},
        {"seed": "1"},
        {"image_size": (28,)},
        {"image_size": (28, 28, 2)},
        {"image_size": (0, 28)},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ZooError):
        data.load("fashion_mnist", **kwargs)
