"""The guard that refuses a Keras backend other than TensorFlow, at `import zoo`.

The zoo's training step, exports (SavedModel, ONNX via `tf2onnx`, LiteRT) and
data pipelines are TensorFlow's, so Keras must run on its TensorFlow backend.
`guard()` runs when `zoo` is imported and fails at once, in one line that says
what to set, instead of failing later deep inside Keras or TensorFlow. The
backend is read without importing Keras (`zoo.settings.keras_backend`), so the
check needs neither JAX nor PyTorch installed, and `import zoo` stays cheap.

Example:

```
$ KERAS_BACKEND=jax python -c "import zoo"
ImportError: keras-gan-zoo runs on Keras' TensorFlow backend, but Keras is set to 'jax' ...
$ KERAS_BACKEND=jax zoo list
zoo: error: keras-gan-zoo runs on Keras' TensorFlow backend, but Keras is set to 'jax' ...
```
"""

import os
import sys

from zoo import settings

REQUIRED_BACKEND = "tensorflow"
EXIT_USAGE = 2


class KerasBackendError(ImportError):
    """Keras is set to a backend other than TensorFlow."""


def backend_problem():
    """The one-line reason the configured Keras backend will not do, or `None`."""
    backend = settings.keras_backend()
    if backend == REQUIRED_BACKEND:
        return None
    return (
        f"keras-gan-zoo runs on Keras' TensorFlow backend, but Keras is set to {backend!r} "
        "(by KERAS_BACKEND or keras.json). "
        f"Received: backend={backend!r}. Set KERAS_BACKEND={REQUIRED_BACKEND} (e.g. "
        f"`export KERAS_BACKEND={REQUIRED_BACKEND}`) before importing zoo or keras."
    )


def running_cli():
    """Whether this process is the `zoo` command (the console script or `python -m zoo`)."""
    if os.path.basename(sys.argv[0] if sys.argv else "").lower() in ("zoo", "zoo.exe", "zoo-script.py"):
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    return any(flag == "-m" and module == "zoo" for flag, module in zip(argv, argv[1:]))


def guard():
    """Raises `KerasBackendError` (the `zoo` command: prints it and exits 2) for a non-TensorFlow backend."""
    problem = backend_problem()
    if problem is None:
        return
    if running_cli():
        print(f"zoo: error: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    raise KerasBackendError(problem)
