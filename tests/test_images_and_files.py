import os

import numpy as np
import pytest
from PIL import Image

from zoo.files import atomic_path, sha256_file, write_bytes_atomically
from zoo.images import make_grid, save_grid, to_uint8
from zoo.latent import sample_latent


def test_to_uint8_maps_the_tanh_range():
    assert to_uint8(np.array([-1.0, -0.5, 0.0, 1.0, 3.0])).tolist() == [0, 64, 128, 255, 255]


def test_grid_places_each_image_in_its_tile():
    images = np.stack([np.full((5, 4, 1), value, "uint8") for value in (10, 20, 30)])
    grid = make_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * 6 + 1, 2 * 5 + 1, 1)
    assert grid[1, 1, 0] == 10 and grid[1, 6, 0] == 20 and grid[7, 1, 0] == 30
    assert grid[7, 6, 0] == 0  # empty fourth tile


def test_save_grid_writes_rgb_and_gray_png(tmp_path):
    save_grid(np.zeros((4, 8, 8, 3), "float32"), tmp_path / "rgb.png")
    save_grid(np.zeros((4, 8, 8, 1), "float32"), tmp_path / "gray.png")
    assert Image.open(tmp_path / "rgb.png").mode == "RGB"
    assert Image.open(tmp_path / "gray.png").mode == "L"


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "model.keras"
    write_bytes_atomically(target, b"good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            with open(temporary, "wb") as file:
                file.write(b"half")
            raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_atomic_directory_replaces_only_on_success(tmp_path):
    target = tmp_path / "artifact"
    with atomic_path(target, directory=True) as temporary:
        (open(os.path.join(temporary, "a.txt"), "w")).close()
    assert os.listdir(target) == ["a.txt"]
    with pytest.raises(ValueError):
        with atomic_path(target, directory=True):
            raise ValueError
    assert os.listdir(tmp_path) == ["artifact"]


def test_sha256_file(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert sha256_file(tmp_path / "x") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_latent_draw_is_reproducible_and_validated():
    np.testing.assert_array_equal(sample_latent(3, 5, seed=1), sample_latent(3, 5, seed=1))
    assert sample_latent(3, 5, seed=1).dtype == np.float32
    with pytest.raises(ValueError, match="seed must be an integer"):
        sample_latent(3, 5, seed=1.5)
