"""ONNX runtimes behind one interface: `load(name, path)` returns `run(feeds)`.

Every engine runs an exported `generator.onnx` the same way: `run` takes feeds
by port name, `{"z": float32 [n, latent_dim], "label": int64 [n]}` (`label`
only for conditional models; feeds the graph has no port for are ignored), and
returns the float32 `image` `[n, H, W, C]` as NumPy. The batch size may change
from call to call. The test suite's compatibility matrix
(`tests/test_portability.py`) and `bench/portability.py` run every engine on
every published generator and fresh export.

| name | package | notes |
|---|---|---|
| `onnxruntime` | `onnxruntime` | `zoo.sessions.onnx_session` (CPU) |
| `onnx-reference` | `onnx` | `onnx.reference.ReferenceEvaluator`: NumPy, slow, the spec |
| `openvino` | `openvino` | CPU, `INFERENCE_PRECISION_HINT=f32` (see below) |
| `opencv` | `opencv-python-headless` | OpenCV 5 DNN, its new ONNX engine |
| `tract` | `tract` | symbolic batch, one optimized runnable |
| `onnx2torch` | `torch`, `torchvision`, `onnx2torch` | a `torch.nn.Module`, run under `inference_mode` |

Details that matter for parity:

- OpenVINO infers in bfloat16 by default on CPUs with AVX512-BF16 (max-abs
  3e-2 on these generators); the engine asks for float32
  (`{"INFERENCE_PRECISION_HINT": "f32"}`, ~2e-6).
- OpenCV 5's `readNetFromONNX` falls back to its classic engine when the new
  one cannot parse a graph; the classic engine crashes the process when the
  batch size grows between calls. The engine asks for the new engine
  (`cv2.dnn.ENGINE_NEW`), which takes the int64 `label` and any batch size.
  Where it returns an empty network (it only logs why), the error names the
  operator that the classic parser reports missing.
- torch's CUDA build brings triton, whose import crashes (segmentation fault)
  a process that imported TensorFlow first: the `onnx2torch` engine refuses to
  start there (import torch before TensorFlow, or use another process).

A missing library is a one-line `ZooError` naming the pip package to install.

Example:

>>> from zoo.export import engines
>>> engines.available_engines()
['onnx-reference', 'onnxruntime', 'opencv', 'openvino', 'tract']
>>> run = engines.load("openvino", "export/cgan-fashion-mnist/generator.onnx")
>>> run({"z": z, "label": label}).shape
(7, 28, 28, 1)
"""

import dataclasses
import os

import numpy as np

from zoo.errors import ZooError, unknown_name_error
from zoo.lazy import importable
from zoo.record import IMAGE_NAME, LABEL_NAME

_ENGINES = {}


@dataclasses.dataclass(frozen=True)
class Engine:
    """An ONNX runtime the zoo knows how to drive.

    Attributes:
        name: the engine's id, e.g. `"openvino"` (the ids of
            `zoo.export.targets.RUNTIMES` where the runtime is listed there).
        title: how users know it, e.g. `"OpenVINO"`.
        modules: the Python modules it imports.
        install: the pip command that installs them.
        loader: `loader(path) -> run(feeds) -> image`.
    """

    name: str
    title: str
    modules: tuple
    install: str
    loader: object = dataclasses.field(repr=False, compare=False)

    @property
    def available(self):
        """Whether every module it needs is importable (without importing it)."""
        return all(importable(module) for module in self.modules)

    def load(self, path):
        """Opens the ONNX file `path`; returns `run(feeds) -> float32 image`.

        Raises:
            ZooError: when the engine's library is not installed, or `path`
                does not exist.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ZooError(f"No ONNX file at {path}. Received: path={path!r}.")
        for module in self.modules:
            if not importable(module):
                raise ZooError(f"The {self.name} engine needs the '{module}' module: {self.install}.")
        return self.loader(path)


def register_engine(name, title, modules, install):
    """Registers `loader(path) -> run` as the engine `name` (a decorator).

    Args:
        name: the engine's id.
        title: how users know the runtime.
        modules: the modules it imports, probed by `available_engines()`.
        install: the command that installs them, e.g. `"pip install tract"`.

    Example:

    >>> @register_engine("my-runtime", "My runtime", ("my_runtime",), "pip install my-runtime")
    ... def _load_mine(path):
    ...     session = my_runtime.open(path)
    ...     return lambda feeds: session.run(feeds)["image"]
    """

    def decorator(loader):
        if name in _ENGINES:
            raise ValueError(f"Engine '{name}' is already registered. Choose another name.")
        _ENGINES[name] = Engine(name, title, tuple(modules), install, loader)
        return loader

    return decorator


def list_engines():
    """Returns the names of every registered engine, installed or not."""
    return sorted(_ENGINES)


def available_engines():
    """Returns the names of the engines whose libraries are installed here.

    Example:

    >>> "onnxruntime" in available_engines()
    True
    """
    return sorted(name for name, engine in _ENGINES.items() if engine.available)


def get_engine(name):
    """Returns the `Engine` called `name`; a one-line `ZooError` for an unknown one."""
    if name not in _ENGINES:
        raise unknown_name_error("engine", name, _ENGINES)
    return _ENGINES[name]


def load(name, path):
    """Opens `path` with the engine `name`; returns `run(feeds) -> image`.

    Args:
        name: an engine name (see `list_engines()`).
        path: an exported `generator.onnx`.

    Returns:
        `run(feeds)`: feeds `{"z": float32 [n, d], "label": int64 [n]}` by
        port name, result the float32 `image` `[n, H, W, C]`.

    Raises:
        ZooError: for an unknown engine, a missing library (naming the pip
            package) or a missing file. A graph the runtime cannot load raises
            the runtime's own error (OpenCV's and tract's a one-line `ZooError`).

    Example:

    >>> run = load("tract", "export/mlp-gan-fashion-mnist/generator.onnx")
    >>> run({"z": np.zeros((2, 64), "float32")}).shape
    (2, 28, 28, 1)
    """
    return get_engine(name).load(path)


def _ordered(feeds, names):
    """The feeds for the graph inputs `names`, in that order, with their port dtypes."""
    missing = [name for name in names if name not in feeds]
    if missing:
        raise ZooError(
            f"Missing feed {missing[0]!r}. Received: feeds with {', '.join(sorted(feeds)) or 'nothing'}. "
            f"The graph's inputs: {', '.join(names)}."
        )
    return [
        np.ascontiguousarray(feeds[name], dtype=np.int64 if name == LABEL_NAME else np.float32)
        for name in names
    ]


def _graph_input_names(path):
    import onnx

    model = onnx.load(path, load_external_data=False)
    initializers = {tensor.name for tensor in model.graph.initializer}
    return [port.name for port in model.graph.input if port.name not in initializers]


def _image(array):
    return np.asarray(array, dtype=np.float32)


@register_engine("onnxruntime", "onnxruntime (CPU)", ("onnxruntime",), "pip install onnxruntime")
def _load_onnxruntime(path):
    from zoo.export.runtime import run_onnx
    from zoo.sessions import onnx_session

    session = onnx_session(path)
    names = [port.name for port in session.get_inputs()]
    return lambda feeds: _image(run_onnx(session, dict(zip(names, _ordered(feeds, names)))))


@register_engine("onnx-reference", "ONNX reference evaluator", ("onnx",), "pip install onnx")
def _load_reference(path):
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(path)
    names = list(evaluator.input_names)
    return lambda feeds: _image(evaluator.run([IMAGE_NAME], dict(zip(names, _ordered(feeds, names))))[0])


@register_engine("openvino", "OpenVINO (CPU)", ("openvino",), "pip install openvino")
def _load_openvino(path):
    import openvino

    # float32, not the bfloat16 that CPUs with AVX512-BF16 get by default.
    compiled = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    names = [port.get_any_name() for port in compiled.inputs]
    output = compiled.output(IMAGE_NAME)
    request = compiled.create_infer_request()

    def run(feeds):
        result = request.infer(dict(zip(names, _ordered(feeds, names))))
        return _image(result[output]).copy()  # the request reuses its output buffer

    return run


@register_engine("opencv", "OpenCV DNN", ("cv2", "onnx"), "pip install opencv-python-headless onnx")
def _load_opencv(path):
    import cv2

    # The new engine: the classic one (AUTO's fallback) crashes when the batch grows.
    # OpenCV 5.1 renamed ENGINE_NEW to ENGINE_OPENCV.
    engine = getattr(cv2.dnn, "ENGINE_NEW", None) or cv2.dnn.ENGINE_OPENCV
    net = cv2.dnn.readNetFromONNX(path, engine)
    if net.empty():
        raise ZooError(f"OpenCV {cv2.__version__} DNN cannot load {path}: {_opencv_problem(cv2, path)}.")
    names = _graph_input_names(path)

    def run(feeds):
        for name, value in zip(names, _ordered(feeds, names)):
            net.setInput(value, name)
        return _image(net.forward(IMAGE_NAME)).copy()

    return run


def _opencv_problem(cv2, path):
    """Why the new engine returned an empty network, in words (it only logs it)."""
    import re

    try:
        cv2.dnn.readNetFromONNX(path, cv2.dnn.ENGINE_CLASSIC)
    except cv2.error as error:
        operators = sorted(set(re.findall(r'of type "([A-Za-z0-9_]+)"', str(error))))
        if operators:
            return f"it lacks the operator {', '.join(operators)}"
        return " ".join(str(error).split())[-200:]
    return "only its classic engine parses it, and that engine crashes when the batch size grows"


@register_engine("tract", "tract", ("tract",), "pip install tract")
def _load_tract(path):
    import tract

    try:
        model = tract.onnx().load(path)
        names = [model.input_name(index) for index in range(model.input_count())]
        # The batch stays symbolic: one optimized runnable serves every batch size.
        runnable = model.into_model().into_runnable()
    except tract.TractError as error:
        # Without the Rust backtrace that RUST_BACKTRACE=1 appends.
        reason = " ".join(str(error).split("Stack backtrace:")[0].split())
        raise ZooError(f"tract {tract.version()} cannot load {path}: {reason}") from None

    def run(feeds):
        outputs = runnable.run(_ordered(feeds, names))
        return _image(outputs[0].to_numpy())

    return run


# onnx2torch imports torchvision, which pins its torch: install the three together.
@register_engine("onnx2torch", "onnx2torch (PyTorch)", ("torch", "torchvision", "onnx2torch", "onnx"),
                 "pip install torch torchvision onnx2torch")
def _load_onnx2torch(path):
    import sys

    if "tensorflow" in sys.modules and "torch" not in sys.modules and importable("triton"):
        raise ZooError(
            "The onnx2torch engine cannot start in a process that imported TensorFlow before torch: "
            "triton (which torch's CUDA build brings) crashes it. Import torch first, or run it in "
            "a process without TensorFlow."
        )
    import onnx
    import onnx2torch
    import torch

    model = onnx2torch.convert(onnx.load(path)).eval()
    names = _graph_input_names(path)

    def run(feeds):
        with torch.inference_mode():
            # torch.tensor copies: test-vector arrays are read-only views, which from_numpy warns about.
            output = model(*(torch.tensor(value) for value in _ordered(feeds, names)))
        return _image(output.numpy())

    return run
