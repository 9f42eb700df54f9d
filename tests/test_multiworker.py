"""`MultiWorkerMirroredStrategy` for real: two worker processes on 127.0.0.1 with `TF_CONFIG`.

Each test starts real `python` processes (one per worker) on the real
Fashion-MNIST; the workers talk to each other over gRPC on free local ports.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

WORKERS = 2
TRAIN = [
    "train", "dcgan", "--strategy", "multiworker", "--steps-per-epoch", "2", "--batch-size", "16",
    "--take", "256", "--seed", "0", "--verbose", "0",
]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _worker_env(ports, index):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return dict(
        os.environ,
        TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )


def _start_workers(argv, logs):
    """Starts one `python ARGV` process per worker; their output goes to `logs/worker<i>.log`."""
    ports = _free_ports(WORKERS)
    processes = []
    for index in range(WORKERS):
        log = open(logs / f"worker{index}.log", "w")
        command = [sys.executable, *argv]
        processes.append(subprocess.Popen(command, env=_worker_env(ports, index), stdout=log, stderr=subprocess.STDOUT))
        log.close()
    return processes


def _wait_all(processes, logs, timeout=240):
    deadline = time.monotonic() + timeout
    try:
        codes = [process.wait(timeout=max(deadline - time.monotonic(), 1)) for process in processes]
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        codes = [process.wait() for process in processes]
    for index, code in enumerate(codes):
        assert code == 0, (index, (logs / f"worker{index}.log").read_text()[-3000:])
    return codes


def _train(out, logs, *extra):
    return _start_workers(["-m", "zoo", *TRAIN, "--out", str(out), *extra], logs)


def _files(folder):
    paths = [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]
    return sorted(os.path.relpath(path, folder) for path in paths)


def test_two_workers_finish_and_only_the_chief_writes_the_run_folder(tmp_path):
    out, logs = tmp_path / "run", tmp_path
    processes = _train(out, logs, "--epochs", "1")
    chief_pid = processes[0].pid
    _wait_all(processes, logs)

    record = json.loads((out / "run.json").read_text())
    assert record["strategy"] == "multiworker" and record["replicas"] == 2
    assert record["result"]["generator_steps"] == 2 and record["result"]["images_seen"] == 32
    files = _files(out)
    assert not [name for name in files if "workertemp" in name], files  # the worker cleaned up
    assert {"model.keras", "model.keras.json", "run.json", "clock.json", "samples/epoch_001.png"} <= set(files)
    assert not os.path.exists(out / "backup")
    # TensorBoard names its files after the writing process: only the chief's are there.
    events = [name for name in files if ".tfevents." in name]
    assert events and all(f".{chief_pid}." in name for name in events), (chief_pid, events)
    # Each says what it did: the chief saved the model, the other left it to the chief.
    assert "zoo: model saved to" in (logs / "worker0.log").read_text()
    worker_log = (logs / "worker1.log").read_text()
    assert "zoo: worker done; the chief saves the model" in worker_log and "model saved" not in worker_log


ONE_STEP = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np, tensorflow as tf, keras, zoo
    from zoo.data.pipeline import shard_for_workers
    from zoo.variants import mlp_gan

    class PixelNoiseGAN(zoo.GAN):
        # Noise made from each image's own pixels: the same z for an example
        # whichever worker gets it.
        def _sample_z(self, real_images):
            flat = tf.reshape(real_images, (tf.shape(real_images)[0], -1))
            return flat[:, 300 : 300 + self.latent_dim] * 2.0

    out, global_batch = sys.argv[1], int(sys.argv[2])
    multi = "TF_CONFIG" in os.environ
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if multi else tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    # One global batch in all: under a strategy, Keras' fit peeks at a batch first, from an
    # iteration of its own, and the data set reshuffles at each iteration.
    batches = zoo.data.load("fashion_mnist", batch_size=global_batch, seed=3, take=global_batch, with_labels=False)
    with strategy.scope():
        g = mlp_gan.build_generator(8, (28, 28, 1), hidden_units=(32,))
        d = mlp_gan.build_discriminator((28, 28, 1), hidden_units=(32,), dropout=0.0)
        gan = PixelNoiseGAN(g, d, latent_dim=8, d_steps=2)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    start = [w.copy() for w in g.get_weights() + d.get_weights()]
    logs = gan.fit(shard_for_workers(batches) if multi else batches, epochs=1, verbose=0).history
    if not multi or strategy.cluster_resolver.task_id == 0:
        np.savez(out, *(g.get_weights() + d.get_weights()), *start)
        with open(out + ".json", "w") as file:
            json.dump({"replicas": strategy.num_replicas_in_sync, "d_loss": float(logs["d_loss"][0])}, file)
    """
)


def test_one_step_on_two_workers_equals_one_process_with_the_global_batch(tmp_path):
    script = tmp_path / "one_step.py"
    script.write_text(ONE_STEP)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    argv = [sys.executable, str(script), str(tmp_path / "single.npz"), "16"]
    single = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr[-3000:]
    # --batch-size is the global batch: 2 workers x 8 images.
    _wait_all(_start_workers([str(script), str(tmp_path / "multi.npz"), "16"], tmp_path), tmp_path)

    def weights(name):
        with np.load(tmp_path / name) as arrays:
            values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        return values[: len(values) // 2], values[len(values) // 2 :]

    (single_after, single_start), (multi_after, multi_start) = weights("single.npz"), weights("multi.npz")
    reports = [json.loads((tmp_path / f"{name}.npz.json").read_text()) for name in ("single", "multi")]
    assert [report["replicas"] for report in reports] == [1, 2]
    assert max(float(np.abs(a - b).max()) for a, b in zip(single_start, multi_start)) == 0.0
    assert max(float(np.abs(a - b).max()) for a, b in zip(single_after, single_start)) > 1e-3, "the step must move"
    assert max(float(np.abs(a - b).max()) for a, b in zip(single_after, multi_after)) < 1e-5
    assert abs(reports[0]["d_loss"] - reports[1]["d_loss"]) < 1e-5, reports


@pytest.mark.slow
def test_a_killed_worker_and_a_rerun_of_both_resume_from_the_chiefs_backup(tmp_path):
    out, logs = tmp_path / "run", tmp_path
    epochs = ["--epochs", "8"]
    processes = _train(out, logs, *epochs)
    metadata = out / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while not metadata.exists() and time.monotonic() < deadline and processes[0].poll() is None:
        time.sleep(0.05)
    assert metadata.exists(), (logs / "worker0.log").read_text()[-3000:]
    processes[1].send_signal(signal.SIGKILL)  # the other worker dies mid-run
    try:
        processes[0].wait(timeout=20)  # the chief may notice, or hang on its collectives
    except subprocess.TimeoutExpired:
        processes[0].kill()
    processes[0].wait()
    assert processes[0].returncode != 0, "the run must not have finished before the kill"
    backed_up = json.loads(metadata.read_text())["epoch"]
    assert 0 <= backed_up < 8
    first_grid = out / "samples" / "epoch_001.png"
    first_grid_time = first_grid.stat().st_mtime_ns

    _wait_all(_train(out, logs, *epochs), logs)
    record = json.loads((out / "run.json").read_text())
    assert record["result"]["generator_steps"] == 16  # 8 epochs x 2 steps in all, not more
    assert first_grid.stat().st_mtime_ns == first_grid_time  # epoch 1 was not trained again
    files = _files(out)
    assert "samples/epoch_008.png" in files and not os.path.exists(out / "backup")
    assert not [name for name in files if "workertemp" in name], files
