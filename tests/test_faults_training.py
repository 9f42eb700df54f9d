"""Faults of `zoo train` run folders: kills, corrupt backups, full disks, leftovers.

Every run here is a real tiny run on the real Fashion-MNIST; kills are real
SIGKILLs of real `zoo train` processes; a full disk is a real file-size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored so that writes fail with EFBIG) or, in a
`slow` test, a real 1 MiB tmpfs.
"""

import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import keras
import pytest

from cli_helpers import one_line_error
from zoo.training import train
from model_helpers import EpochRecorder, Kill  # noqa: E402

EPOCHS = 4
STEPS = 2
# What the subprocesses run: `zoo train mlp_gan --out RUN <COMMAND...>`.
COMMAND = [
    "--epochs", str(EPOCHS), "--steps-per-epoch", str(STEPS), "--batch-size", "32", "--take", "256",
    "--seed", "0", "--verbose", "0",
]
SHORT = dict(epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=32, take=256, seed=0, verbose=0)


def zoo_train(out, preexec_fn=None, timeout=600):
    """Runs `zoo train mlp_gan --out OUT ...` as a process; returns the CompletedProcess."""
    return subprocess.run(
        zoo_train_command(out), capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn,
        env=_env(), cwd=os.path.dirname(os.fspath(out)),
    )


def zoo_train_command(out):
    return [sys.executable, "-m", "zoo", "train", "mlp_gan", "--out", os.fspath(out), *COMMAND]


def _env():
    env = dict(os.environ, ZOO_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("ZOO_DATA_DIR", None)
    return env


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def tree_digests(folder):
    """`{relative path: sha256}` of every file under `folder`."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = sha256(path)
    return found


def temporaries(folder):
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, dirs, files in os.walk(folder)
        for name in files + dirs
        if ".tmp-" in name
    )


def errors_and_warnings(stderr):
    lines = stderr.strip().splitlines()
    return [line for line in lines if line.startswith("zoo: error:")], [
        line for line in lines if line.startswith("zoo: warning:")
    ]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A run killed after 2 of its 4 epochs: model.keras and backup/ both hold epoch 2."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    with pytest.raises(KeyboardInterrupt):
        train("mlp_gan", out=out, sample_count=4, callbacks=[Kill(at=2)], **SHORT)
    assert json.loads((out / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    assert _state_file(out).is_file() and (out / "model.keras").is_file()
    return out


@pytest.fixture
def run_folder(interrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(interrupted, out)
    return out


def _state_file(out):
    """The backup file that the backup's metadata names."""
    metadata = json.loads((out / "backup" / "training_metadata.json").read_text())
    return out / "backup" / metadata.get("file", "latest.weights.h5")


# -- item 2: a corrupt backup -------------------------------------------------


def test_kill_while_the_backup_is_written_then_the_same_command_finishes(tmp_path):
    """A real SIGKILL while `zoo train` writes a backup (not its first); the rerun resumes and finishes."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        zoo_train_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path
    )
    backup = out / "backup"
    in_flight = []
    deadline = time.monotonic() + 300
    try:
        while not in_flight and process.poll() is None and time.monotonic() < deadline:
            if (backup / "training_metadata.json").is_file():
                in_flight = [name for name in os.listdir(backup) if name.startswith(".state-") and ".tmp-" in name]
            if not in_flight:
                time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        stderr = process.communicate()[1]
    assert in_flight, f"never saw a backup after the first being written: {stderr[-2000:]}"
    assert process.returncode == -signal.SIGKILL
    # What the kill left: a half-written temporary beside the good pair of the epoch before.
    assert temporaries(out), "the kill left no temporary"
    epoch_in_flight = int(in_flight[0][len(".state-"):][:4])
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == epoch_in_flight - 1

    result = zoo_train(out)
    assert result.returncode == 0, result.stderr[-3000:]
    errors, warnings = errors_and_warnings(result.stderr)
    assert not errors and not warnings and "Traceback" not in result.stderr
    assert (out / "model.keras").is_file() and not backup.exists()
    assert not temporaries(out), "the rerun must remove the killed run's temporaries"
    settings = json.loads((out / "run.json").read_text())
    # Resumed from the backup with its optimizer state: 4 epochs x 2 steps in all.
    assert settings["result"]["generator_steps"] == EPOCHS * STEPS
    assert json.loads((out / "model.keras.json").read_text())["epoch"] == EPOCHS


def test_truncated_backup_is_set_aside_and_the_run_resumes_from_model_keras(run_folder):
    """The backup file cut short as a kill mid-write leaves it: one warning, resume from model.keras."""
    state = _state_file(run_folder)
    with open(state, "r+b") as file:
        file.truncate(os.path.getsize(state) // 2)
    truncated = sha256(state)

    result = zoo_train(run_folder)
    assert result.returncode == 0, result.stderr[-3000:]
    errors, warnings = errors_and_warnings(result.stderr)
    assert not errors and "Traceback" not in result.stderr
    assert len(warnings) == 1, result.stderr[-3000:]
    assert "is corrupt" in warnings[0] and "sha256" in warnings[0] and "after epoch 2" in warnings[0]
    aside = list(run_folder.glob("backup.corrupt-*"))
    assert len(aside) == 1 and aside[0].name in warnings[0]
    assert sha256(aside[0] / state.name) == truncated, "the bad backup is kept, never deleted"
    assert (run_folder / "model.keras").is_file() and not (run_folder / "backup").exists()
    settings = json.loads((run_folder / "run.json").read_text())
    # model.keras held epoch 2 and its optimizer state: 2 more epochs make 8 steps.
    assert settings["result"]["generator_steps"] == EPOCHS * STEPS


def _garble_metadata(out):
    path = out / "backup" / "training_metadata.json"
    path.write_text(path.read_text()[:20])


def _remove_state_file(out):
    _state_file(out).unlink()


def _legacy_truncated_h5(out):
    """What `keras.callbacks.BackupAndRestore` leaves after a kill mid-write: a cut `latest.weights.h5`."""
    gan = keras.saving.load_model(out / "model.keras")
    shutil.rmtree(out / "backup")
    (out / "backup").mkdir()
    weights = out / "backup" / "latest.weights.h5"
    gan.save_weights(weights)
    with open(weights, "r+b") as file:
        file.truncate(os.path.getsize(weights) // 3)
    (out / "backup" / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')


@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (_garble_metadata, "training_metadata.json is unreadable"),
        (_remove_state_file, "is missing"),
        (_legacy_truncated_h5, "does not load"),
    ],
)
def test_bad_backup_is_set_aside_with_one_warning(run_folder, capsys, corrupt, reason):
    corrupt(run_folder)
    before = tree_digests(run_folder / "backup")
    recorder = EpochRecorder()
    gan, _ = train("mlp_gan", out=run_folder, sample_count=4, callbacks=[recorder], **SHORT)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("zoo: warning:")]
    assert len(warnings) == 1 and reason in warnings[0] and "after epoch 2" in warnings[0], warnings
    assert recorder.epochs == [2, 3], "resumes from model.keras (epoch 2)"
    assert int(gan.g_optimizer.iterations) == EPOCHS * STEPS
    (aside,) = run_folder.glob("backup.corrupt-*")
    assert tree_digests(aside) == before, "the bad backup is moved aside unchanged"


def test_bad_backup_without_a_good_model_starts_from_scratch(run_folder, capsys):
    _state_file(run_folder).write_bytes(b"garbage")
    os.remove(run_folder / "model.keras")
    recorder = EpochRecorder()
    train("mlp_gan", out=run_folder, sample_count=4, callbacks=[recorder], **SHORT)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("zoo: warning:")]
    assert len(warnings) == 1 and "from scratch" in warnings[0]
    assert recorder.epochs == [0, 1, 2, 3]
    assert (run_folder / "model.keras").is_file()


def test_model_keras_replaced_after_its_record_is_not_trusted(run_folder, capsys):
    """A model.keras that matches neither epoch record is never resumed from."""
    _state_file(run_folder).write_bytes(b"garbage")
    with open(run_folder / "model.keras", "ab") as file:
        file.write(b"\0")
    recorder = EpochRecorder()
    train("mlp_gan", out=run_folder, sample_count=4, callbacks=[recorder], **SHORT)
    assert "from scratch" in capsys.readouterr().err
    assert recorder.epochs == [0, 1, 2, 3]


# -- item 2: a full disk ------------------------------------------------------


def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_is_one_line_keeps_the_good_files_and_the_next_run_resumes(run_folder):
    good = tree_digests(run_folder)
    model_size = os.path.getsize(run_folder / "model.keras")
    # Room for run.json, samples and logs, not for a model or backup file.
    result = zoo_train(run_folder, preexec_fn=_file_size_limit(model_size // 4))
    errors, _ = errors_and_warnings(result.stderr)
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "File size limit reached" in errors[0] and "re-run the same command to resume" in errors[0]
    for name in ("model.keras", "model.keras.json", "backup/training_metadata.json", os.path.relpath(_state_file(run_folder), run_folder)):
        assert tree_digests(run_folder)[name] == good[name], f"{name} changed"
    assert not temporaries(run_folder)

    recorder = EpochRecorder()
    train("mlp_gan", out=run_folder, sample_count=4, callbacks=[recorder], **SHORT)
    assert recorder.epochs == [2, 3], "the run with space resumes from the kept backup"


@pytest.mark.slow
def test_real_full_tmpfs_is_one_line_not_a_segfault(tmp_path):
    """A full 1 MiB tmpfs: this used to end in a segmentation fault inside HDF5 (exit 139)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = zoo_train(mount_point / "run")
        errors, _ = errors_and_warnings(result.stderr)
        assert result.returncode == 2, result.stderr[-3000:]
        assert len(errors) == 1 and "No space left" in errors[0] and "Traceback" not in result.stderr
        assert not temporaries(mount_point / "run")
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.slow
def test_random_kills_then_the_same_command_finishes(tmp_path):
    """SIGKILL `zoo train` at random moments of its training a few times; the last rerun finishes."""
    out = tmp_path / "run"
    rng = random.Random(0)
    left = []
    for _ in range(6):
        started = time.time()
        process = subprocess.Popen(
            zoo_train_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=tmp_path
        )
        # run.json is rewritten just before `fit`: kill at a random moment after it.
        while process.poll() is None and not (
            (out / "run.json").is_file() and os.path.getmtime(out / "run.json") >= started
        ):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        left.append((process.returncode, temporaries(out), sorted(os.listdir(out / "backup")) if (out / "backup").is_dir() else None))
    print("\n".join(map(str, left)))
    result = zoo_train(out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert (out / "model.keras").is_file() and not (out / "backup").exists()
    assert not temporaries(out)
    gan = keras.saving.load_model(out / "model.keras")
    assert gan.generate(2, seed=0).shape == (2, 28, 28, 1)


# -- item 6: resuming with another variant --------------------------------------


def test_resuming_with_another_variant_is_refused_before_touching_run_json(run_folder, capsys):
    before = tree_digests(run_folder)
    line = one_line_error(capsys, ["train", "dcgan", "--out", str(run_folder), *COMMAND])
    assert "'mlp_gan'" in line and "'dcgan'" in line
    assert tree_digests(run_folder) == before


# -- item 8: leftovers of a killed run ------------------------------------------


def _leftover(run, subfolder, name, data):
    """A temporary exactly as `zoo.files.atomic_path` names it, holding what a kill left in it."""
    handle, path = tempfile.mkstemp(dir=run / subfolder, prefix=f".{name}.tmp-", suffix=os.path.splitext(name)[1])
    os.write(handle, data)
    os.close(handle)
    return os.path.relpath(path, run)


def test_rerun_removes_its_own_temporaries_and_nothing_else(run_folder):
    half_model = (run_folder / "model.keras").read_bytes()[:100_000]
    leftovers = [
        _leftover(run_folder, ".", "model.keras", half_model),
        _leftover(run_folder, ".", "model.keras.json", b'{"fi'),
        _leftover(run_folder, ".", "run.json", b'{"variant": "ml'),
        _leftover(run_folder, ".", "clock.json", b""),
        _leftover(run_folder, "samples", "epoch_003.png", b"\x89PNG"),
        _leftover(run_folder, "backup", "state-0003-00000.keras", half_model),
        _leftover(run_folder, "backup", "training_metadata.json", b"{"),
    ]
    user_files = {
        "notes.txt": b"mine",
        ".model.keras.bak": b"my copy",
        "model.keras.tmp-1": b"not a temporary of the run",
        ".hidden.tmp-abc": b"another program's",
        "samples/mine.png": b"\x89PNG mine",
        "samples/.epoch_003.png.bak": b"mine too",
    }
    for name, data in user_files.items():
        (run_folder / name).write_bytes(data)
    assert sorted(temporaries(run_folder)) == sorted(leftovers + [".hidden.tmp-abc", "model.keras.tmp-1"])

    recorder = EpochRecorder()
    train("mlp_gan", out=run_folder, sample_count=4, callbacks=[recorder], **SHORT)
    assert recorder.epochs == [2, 3], "a half-written temporary does not spoil the good backup"
    assert temporaries(run_folder) == [".hidden.tmp-abc", "model.keras.tmp-1"]
    for name, data in user_files.items():
        assert (run_folder / name).read_bytes() == data, f"{name} was touched"


def test_train_classifier_removes_its_own_temporaries(tmp_path, capsys):
    out = tmp_path / "classifier"
    out.mkdir()
    (out / "classifier.keras").write_bytes(b"the user's classifier")
    leftovers = [
        _leftover(out, ".", "classifier.keras", b"PK\x03\x04half"),
        _leftover(out, ".", "classifier.json", b'{"sha'),
    ]
    (out / ".notes.tmp-1").write_bytes(b"mine")
    assert all((out / name).exists() for name in leftovers)
    line = one_line_error(capsys, ["train-classifier", "fashion_mnist", "--out", str(out)])
    assert "already exists" in line
    assert sorted(os.listdir(out)) == [".notes.tmp-1", "classifier.keras"]
    assert (out / "classifier.keras").read_bytes() == b"the user's classifier"


def test_resuming_with_other_settings_is_one_line_and_changes_nothing(run_folder, capsys):
    before = tree_digests(run_folder)
    line = one_line_error(capsys, ["train", "mlp_gan", "--out", str(run_folder), *COMMAND, "--latent-dim", "16"])
    assert "is intact but does not fit this model" in line
    after = tree_digests(run_folder)
    # (Keras' TensorBoard callback opens an empty event file as `fit` starts; logs/ may grow.)
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert {name.split(os.sep)[0] for name in changed} <= {"logs"}, changed
    assert (run_folder / "backup").is_dir() and not list(run_folder.glob("backup.corrupt-*"))
