"""The one place that opens runtime sessions on exported generators.

`onnx_session` opens an onnxruntime `InferenceSession` with the settings that
are fastest for small generators on small CPUs: every graph optimization
(`ORT_ENABLE_ALL`, which also re-lays convolutions out in the blocked NCHWc
format), sequential execution, one inter-op thread, and as many intra-op threads
as asked (by default one per physical core). A server that runs one call per
core side by side passes `threads=1` (`zoo.serving`). `providers` picks
onnxruntime execution providers (e.g. `["CUDAExecutionProvider",
"CPUExecutionProvider"]`, or `"CUDAExecutionProvider,CPUExecutionProvider"`);
by default the best this onnxruntime build offers (`default_providers`:
TensorRT, CUDA, ROCm, DirectML, CoreML, OpenVINO ..., the CPU always last as the
fallback). One that this build lacks is a one-line `ZooError` naming the
available ones, not a silent fallback. `litert_interpreter` opens a `.tflite`
file in `ai_edge_litert`'s interpreter.

Only onnxruntime (and LiteRT, when asked for) is imported, never TensorFlow.

Example:

>>> session = onnx_session("export/dcgan-fashion-mnist/generator.onnx", threads=1)
>>> [port.name for port in session.get_inputs()]
['z']
"""

import os

from zoo.errors import ZooError

CPU_PROVIDER = "CPUExecutionProvider"
DEFAULT_PROVIDERS = (CPU_PROVIDER,)  # the fallback every default list ends with
# onnxruntime's execution providers, fastest first, as `default_providers` ranks them.
PROVIDER_PREFERENCE = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "MIGraphXExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "OpenVINOExecutionProvider",
    "QNNExecutionProvider",
    "CANNExecutionProvider",
    "DnnlExecutionProvider",
    "XnnpackExecutionProvider",
    CPU_PROVIDER,
)


def physical_cores():
    """The number of physical CPU cores this process may use (>= 1)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except ImportError:
        count = _cores_in_cpuinfo()
    return max(1, min(count or available, available))


def _cores_in_cpuinfo():
    """Distinct (physical id, core id) pairs of `/proc/cpuinfo`, or `None`."""
    cores, physical = set(), None
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "physical id":
                    physical = value.strip()
                elif key.strip() == "core id":
                    cores.add((physical, value.strip()))
    except OSError:
        return None
    return len(cores) or None


def check_threads(threads, name="threads"):
    """Returns `threads` (`None` or a positive int) after checking it."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ZooError(f"{name} must be a positive integer. Received: {name}={threads!r}.")
    return threads


def default_providers(available=None):
    """The execution providers this onnxruntime build offers, fastest first, the CPU last.

    Providers are ranked by `PROVIDER_PREFERENCE` (TensorRT > CUDA > ROCm >
    DirectML/CoreML/OpenVINO ... > CPU); the CPU always ends the list, as the
    fallback for operators an accelerator lacks. Providers it does not list are
    left out (e.g. `AzureExecutionProvider`, which every onnxruntime build reports
    but which runs models remotely); name them explicitly to use them.

    Args:
        available: the provider names to rank. Defaults to
            `onnxruntime.get_available_providers()`.

    Example:

    >>> default_providers()  # a CPU-only onnxruntime
    ('CPUExecutionProvider',)
    >>> default_providers(["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"])
    ('TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider')
    """
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    return (*(name for name in PROVIDER_PREFERENCE[:-1] if name in available), CPU_PROVIDER)


def check_providers(providers):
    """Returns `providers` as a tuple of onnxruntime provider names this build has.

    Args:
        providers: a provider name, a comma-separated list of them, a sequence
            of them, or `None` (`default_providers()`: the best available, the
            CPU last). An explicit list is used as given, in its order.

    Raises:
        ZooError: one line naming the available providers, for a provider
            this onnxruntime build lacks or an empty list.

    Example:

    >>> check_providers(None)  # a CPU-only onnxruntime
    ('CPUExecutionProvider',)
    >>> check_providers("CUDAExecutionProvider,CPUExecutionProvider")  # onnxruntime-gpu
    ('CUDAExecutionProvider', 'CPUExecutionProvider')
    """
    import onnxruntime as ort

    if providers is None:
        return default_providers()
    if isinstance(providers, str):
        providers = [name.strip() for name in providers.split(",") if name.strip()]
    providers = tuple(providers)
    if not all(isinstance(name, str) for name in providers):
        raise ZooError(f"Execution providers are names (strings). Received: providers={list(providers)!r}.")
    available = ort.get_available_providers()
    for name in providers:
        if name not in available:
            raise ZooError(
                f"onnxruntime here has no execution provider {name!r}. Received: providers={list(providers)}. "
                f"Available: {', '.join(available)} (install the onnxruntime build that has it, e.g. onnxruntime-gpu)."
            )
    if not providers:
        raise ZooError("Name at least one onnxruntime execution provider. Received: providers=[].")
    return providers


def session_options(threads=None, spinning=True):
    """onnxruntime `SessionOptions` for generator inference.

    Args:
        threads: intra-op threads of one call. Defaults to the number of
            physical cores.
        spinning: whether idle intra-op threads spin; turn it off where
            several calls share the cores (a server). Defaults to `True`.

    Example:

    >>> session = onnxruntime.InferenceSession("generator.onnx", session_options(1))
    """
    import onnxruntime as ort

    threads = check_threads(threads) or physical_cores()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if threads > 1 and not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def onnx_session(source, threads=None, providers=None, spinning=True, name=None):
    """Opens an onnxruntime session on an ONNX file (path) or its bytes.

    Args:
        source: the `.onnx` path, or the model's bytes.
        threads: intra-op threads (see `session_options`).
        providers: execution providers (see `check_providers`). Defaults to
            the best available, the CPU last (`default_providers`).
        spinning: see `session_options`.
        name: what to call the model in an error. Defaults to the path.

    Raises:
        ZooError: one line, if onnxruntime cannot open the file.
    """
    import onnxruntime as ort

    model = source if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    shown = name or (f"<{len(model)} bytes>" if isinstance(model, (bytes, bytearray)) else model)
    options = session_options(threads, spinning)
    providers = list(check_providers(providers))
    try:
        return ort.InferenceSession(bytes(model) if isinstance(model, bytearray) else model, options, providers=providers)
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/NoSuchFile types.
        text = str(error).strip()
        message = text.splitlines()[0][:200] if text else ""
        raise ZooError(
            f"onnxruntime cannot open the generator. Received: model={str(shown)!r} "
            f"({type(error).__name__}: {message})."
        ) from error


def onnx_ports(session):
    """`({input name: shape}, image shape)` of a session, for `GeneratorRecord.from_onnx_metadata`."""
    from zoo.record import IMAGE_NAME

    inputs = {port.name: list(port.shape) for port in session.get_inputs()}
    outputs = session.get_outputs()
    image = next((port for port in outputs if port.name == IMAGE_NAME), outputs[0])
    return inputs, list(image.shape)


def litert_interpreter(path, threads=None):
    """Opens a `.tflite` file in `ai_edge_litert`'s interpreter (see `zoo.export.litert.load`)."""
    from zoo.export import litert

    return litert.load(path, check_threads(threads))
