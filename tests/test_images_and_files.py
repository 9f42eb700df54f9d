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


@pytest.mark.parametrize("level", [0, 1, 6, 9])
@pytest.mark.parametrize("shape, mode", [((32, 32, 1), "L"), ((5, 7, 3), "RGB"), ((1, 1, 1), "L"), ((9, 4), "L"),
                                         ((300, 242, 3), "RGB")])
def test_encode_png_decodes_to_the_same_pixels_in_pillow(shape, mode, level):
    import io

    from zoo.images import encode_png

    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    decoded = Image.open(io.BytesIO(encode_png(pixels, compress_level=level)))
    decoded.load()  # checks every chunk's CRC and the zlib stream
    assert decoded.mode == mode and decoded.size == (shape[1], shape[0])
    np.testing.assert_array_equal(np.asarray(decoded).reshape(shape), pixels)


@pytest.mark.parametrize("image", [np.zeros((4, 4, 1), np.float32), np.zeros((4, 4, 2), np.uint8),
                                   np.zeros((0, 4, 1), np.uint8), np.zeros(4, np.uint8)])
def test_encode_png_refuses_what_it_cannot_write(image):
    from zoo.images import encode_png

    with pytest.raises(ValueError, match="Expected a uint8 image"):
        encode_png(image)


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


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_atomic_writes_follow_the_umask_like_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_bytes_atomically(tmp_path / "grid.png", b"png")
        with atomic_path(tmp_path / "export", directory=True) as folder:
            with open(os.path.join(folder, "generator.onnx"), "wb") as file:
                file.write(b"onnx")
        with open(tmp_path / "plain.txt", "w") as file:  # what an ordinary tool would create
            file.write("x")
        os.mkdir(tmp_path / "plain")
    finally:
        os.umask(previous)
    mode = lambda name: os.stat(tmp_path / name).st_mode & 0o777  # noqa: E731
    assert mode("grid.png") == mode("plain.txt") == 0o666 & ~umask
    assert mode("export") == mode("plain") == 0o777 & ~umask
    assert mode("export/generator.onnx") == 0o666 & ~umask


def test_atomic_replace_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "private.json"
    path.write_text("{}")
    os.chmod(path, 0o600)
    write_bytes_atomically(path, b"{\"a\": 1}")
    assert os.stat(path).st_mode & 0o777 == 0o600 and path.read_bytes() == b"{\"a\": 1}"


def test_a_killed_writers_temporaries_are_removed_by_the_next_write(tmp_path):
    import signal
    import subprocess
    import sys

    from zoo.files import remove_dead_temporaries

    # A real writer, killed while it holds its temporary folder open.
    script = (
        "import sys, time\n"
        "from zoo.files import atomic_path\n"
        "with atomic_path(sys.argv[1], directory=True) as folder:\n"
        "    open(folder + '/part', 'w').write('half')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "export")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    leftover = [name for name in os.listdir(tmp_path) if name.startswith(".export.tmp-")]
    assert len(leftover) == 1
    assert remove_dead_temporaries(str(tmp_path), "export") == []  # the writer still runs: left alone
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    (tmp_path / "notes.txt").write_text("mine")
    with atomic_path(tmp_path / "export", directory=True) as folder:
        open(os.path.join(folder, "generator.onnx"), "w").write("onnx")
    assert sorted(os.listdir(tmp_path)) == ["export", "notes.txt"]
    assert os.listdir(tmp_path / "export") == ["generator.onnx"]


def test_a_kill_between_the_renames_restores_the_previous_folder(tmp_path):
    import subprocess
    import sys

    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "generator.onnx").write_text("previous")
    # What a kill right after the old folder stepped aside leaves: old parked, new in its temporary.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    parked = tmp_path / f".export.old-{pid}-abc"
    parked.mkdir()
    os.replace(tmp_path / "export", parked / "export")
    (tmp_path / f".export.tmp-{pid}-def").mkdir()
    from zoo.files import remove_dead_temporaries

    assert sorted(remove_dead_temporaries(str(tmp_path), "export")) == [f".export.old-{pid}-abc", f".export.tmp-{pid}-def"]
    assert (tmp_path / "export" / "generator.onnx").read_text() == "previous"
    assert os.listdir(tmp_path) == ["export"]


def test_run_folder_cleanup_keeps_the_temporaries_of_a_live_writer(tmp_path):
    import subprocess
    import sys

    from zoo.files import clean_stale_temporaries, temporary_pattern

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    names = {
        f".model.keras.tmp-{dead}-abc.keras": "a killed run's",
        ".model.keras.tmp-xyzabc12.keras": "an older zoo's (no process id)",
        f".model.keras.tmp-{os.getpid()}-def.keras": "a live writer's",
    }
    for name in names:
        (tmp_path / name).write_text(names[name])
    removed = clean_stale_temporaries(str(tmp_path), [temporary_pattern("model.keras")])
    assert removed == sorted([f".model.keras.tmp-{dead}-abc.keras", ".model.keras.tmp-xyzabc12.keras"])
    assert os.listdir(tmp_path) == [f".model.keras.tmp-{os.getpid()}-def.keras"]
