"""`import zoo` and the `zoo` command refuse a Keras backend other than TensorFlow, in one line.

Each case runs in a fresh interpreter, so the guard meets the environment the way
a user's shell sets it; JAX and PyTorch need not be installed (the backend is
read without importing Keras).
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(args, tmp_path, **env):
    environment = {**os.environ, "KERAS_HOME": str(tmp_path / "keras-home"), "PYTHONPATH": REPO, **env}
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120
    )


@pytest.mark.parametrize("backend", ["jax", "torch", "numpy"])
def test_import_zoo_under_another_backend_fails_in_one_line(backend, tmp_path):
    done = run_python(["-c", "import zoo"], tmp_path, KERAS_BACKEND=backend)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("zoo.keras_backend.KerasBackendError: keras-gan-zoo runs on Keras' TensorFlow backend")
    assert f"set to {backend!r}" in last and "Set KERAS_BACKEND=tensorflow" in last


def test_the_error_is_an_import_error_and_keras_is_not_imported(tmp_path):
    code = (
        "import sys\n"
        "try:\n    import zoo\nexcept ImportError as error:\n"
        "    print(type(error).__name__, 'keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    done = run_python(["-c", code], tmp_path, KERAS_BACKEND="jax")
    assert done.stdout.split() == ["KerasBackendError", "False", "False"], done.stderr


@pytest.mark.parametrize("command", [["-m", "zoo", "list"], ["-m", "zoo", "sample", "dcgan-fashion-mnist"]])
def test_the_cli_prints_the_line_and_exits_2(command, tmp_path):
    done = run_python(command, tmp_path, KERAS_BACKEND="torch")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("zoo: error: keras-gan-zoo runs on Keras' TensorFlow backend")
    assert "KERAS_BACKEND=tensorflow" in lines[0]
    assert done.stdout == ""


def test_keras_json_backend_is_refused_too(tmp_path):
    (tmp_path / "keras-home").mkdir()
    (tmp_path / "keras-home" / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    done = run_python(["-c", "import zoo"], tmp_path, KERAS_BACKEND=None)
    assert done.returncode != 0 and "set to 'jax'" in done.stderr.strip().splitlines()[-1]
    # KERAS_BACKEND overrides keras.json, as in Keras itself.
    done = run_python(["-c", "import zoo; print(zoo.__version__)"], tmp_path, KERAS_BACKEND="tensorflow")
    assert done.returncode == 0 and done.stdout.strip() == __import__("zoo").__version__, done.stderr


def test_the_tensorflow_backend_imports_and_runs(tmp_path):
    code = "import zoo, keras; print(keras.config.backend(), zoo.settings.keras_backend())"
    done = run_python(["-c", code], tmp_path, KERAS_BACKEND="tensorflow")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tensorflow", "tensorflow"]
    done = run_python(["-m", "zoo", "--version"], tmp_path, KERAS_BACKEND=None)
    assert done.returncode == 0, done.stderr
