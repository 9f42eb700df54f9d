"""Running an exported generator in each format, fed by port name.

`onnx_session` uses the settings that are fastest for small generators on small
CPUs: all onnxruntime graph optimizations (`ORT_ENABLE_ALL`, which also
re-lays convolutions out in the blocked NCHWc format), one intra-op thread per
physical core and sequential execution. Every runner takes the same feeds
`{"z": float32, "label": int64}` and returns the float32 `image` as NumPy.
`run_litert` runs `generator.tflite` in `ai_edge_litert`'s interpreter
(`zoo.export.litert`), resizing its dynamic batch dimension to each batch.
"""

import os

import numpy as np

from zoo.export.signature import IMAGE_NAME, LABEL_NAME, LATENT_NAME


def physical_cores():
    """Returns the number of physical CPU cores this process may use (>= 1)."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
        if count:
            return int(count)
    except ImportError:
        pass
    cores = set()
    try:
        with open("/proc/cpuinfo") as file:
            physical = core = None
            for line in file:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    core = value.strip()
                elif not line.strip() and core is not None:
                    cores.add((physical, core))
                    physical = core = None
            if core is not None:
                cores.add((physical, core))
    except OSError:
        pass
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(len(cores) or available or 1, available or 1))


def session_options(threads=None):
    """onnxruntime `SessionOptions` for generator inference on CPU.

    Args:
        threads: intra-op threads. Defaults to the number of physical cores.

    Example:

    >>> session = onnxruntime.InferenceSession("generator.onnx", session_options())
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(threads or physical_cores())
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def onnx_session(path_or_bytes, threads=None):
    """Opens an onnxruntime CPU session on an ONNX file (path) or its bytes."""
    import onnxruntime as ort

    source = path_or_bytes if isinstance(path_or_bytes, bytes) else os.fspath(path_or_bytes)
    return ort.InferenceSession(
        source, session_options(threads), providers=["CPUExecutionProvider"]
    )


def run_onnx(session, feeds):
    """Runs an onnxruntime session on `feeds` (by name) and returns `image`."""
    wanted = {port.name for port in session.get_inputs()}
    outputs = session.run([IMAGE_NAME], {name: value for name, value in feeds.items() if name in wanted})
    return outputs[0]


def load_saved_model(path):
    """Loads a SavedModel's `serving_default` signature."""
    import tensorflow as tf

    return tf.saved_model.load(os.fspath(path)).signatures["serving_default"]


def run_saved_model(signature, feeds):
    """Calls a `serving_default` signature with keyword tensors; returns `image`."""
    import tensorflow as tf

    kwargs = {name: tf.constant(value) for name, value in feeds.items()}
    return signature(**kwargs)[IMAGE_NAME].numpy()


def run_keras(generator, feeds):
    """Calls a Keras generator in inference mode on `feeds`; returns `image`.

    The call is eager (not `predict`), so the reference does not share the
    traced graph that the SavedModel and ONNX file come from.
    """
    import keras

    z = feeds[LATENT_NAME]
    if LABEL_NAME in feeds:
        by_name = {LATENT_NAME: z, LABEL_NAME: feeds[LABEL_NAME].astype(np.int32)}
        inputs = [by_name[tensor.name] for tensor in generator.inputs]
    else:
        inputs = z
    image = generator(inputs, training=False)
    return np.asarray(keras.ops.convert_to_numpy(image))


def litert_interpreter(path, threads=None):
    """Opens a `.tflite` file in `ai_edge_litert`'s interpreter (see `zoo.export.litert.load`)."""
    from zoo.export import litert

    return litert.load(path, threads)


def run_litert(interpreter, feeds):
    """Runs a LiteRT interpreter on `feeds` (by name, any batch size); returns `image`."""
    from zoo.export import litert

    return litert.run(interpreter, feeds)
