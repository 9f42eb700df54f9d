"""`generator.tflite`: the traced generator for LiteRT (TensorFlow Lite) on phones.

The file is converted from the same serving `tf.function` as the SavedModel and
the ONNX file (`zoo.export.tracing.serving_function`) with TensorFlow's
`TFLiteConverter`, builtin operators only (no Flex / `SELECT_TF_OPS`, no custom
operators: the stock LiteRT runtimes of Android, iOS and microcontrollers lack
them), float32 weights frozen into the file. Its interface is the zoo's:

- input `z` float32 `[batch, latent_dim]`;
- input `label` int64 `[batch]` for conditional models (the int64 the other
  formats take; it is cast to int32 inside, and LiteRT's interpreter accepts
  int64 input tensors);
- output `image` float32 `[batch, H, W, C]` in [-1, 1], NHWC.

The tensors carry those names and the file has one signature,
`serving_default`, with the same keys. The batch dimension is dynamic: it is
`-1` in each port's `shape_signature` and `1` in its initial `shape`, so a
runtime must resize the inputs to the batch it runs (`resize_tensor_input`,
then `allocate_tensors`) before `invoke`; `run` does this when the batch
changes.

The generator's `GeneratorRecord` (the table the ONNX file stores in its
`metadata_props`) is stored as one JSON entry named `"zoo"` in the flatbuffer's
`metadata` table (schema `Model.metadata`, `record.to_litert_metadata()`),
written with TensorFlow's own `tensorflow.lite.tools.flatbuffer_utils`;
`read_metadata` reads it back as a dict and `read_record` as the record.

Example:

>>> from zoo.export import litert
>>> interpreter = litert.load("export/my-dcgan/generator.tflite")
>>> litert.run(interpreter, {"z": z})        # z: float32 [n, latent_dim], any n
>>> litert.read_metadata("export/my-dcgan/generator.tflite")["latent_dim"]
'64'
"""

import contextlib
import json
import os
import sys
import tempfile

import numpy as np

from zoo.errors import ZooError
from zoo.record import IMAGE_NAME, GeneratorRecord

FILENAME = "generator.tflite"
METADATA_NAME = "zoo"
SIGNATURE_KEY = "serving_default"
OPS_COMPATIBILITY_URL = "https://ai.google.dev/edge/litert/models/ops_compatibility"
# A file holding these still reads its weights from resource variables at run
# time (they were not frozen into constants) and computes garbage.
_RESOURCE_VARIABLE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")


def convert(function_or_model, record, path):
    """Converts the traced generator to `generator.tflite` at `path`.

    Args:
        function_or_model: the serving `tf.function` of
            `zoo.export.tracing.serving_function` (what the SavedModel and
            ONNX file are made from), or the traced Keras copy of
            `zoo.export.tracing.export_copy`, which is then traced here.
        record: the generator's `GeneratorRecord`.
        path: the file to write. It is written through a temporary sibling
            and renamed, so a failure leaves nothing at `path`.

    Returns:
        `path`, absolute.

    Raises:
        ZooError: one line when the generator needs TensorFlow ops that have
            no builtin LiteRT operator (it names them), or when the converter
            fails otherwise.

    Example:

    >>> copy = tracing.export_copy(info.generator)
    >>> litert.convert(tracing.serving_function(copy, info.record), info.record, "out/generator.tflite")
    """
    from zoo.files import write_bytes_atomically

    path = os.path.abspath(os.fspath(path))
    data = convert_to_bytes(function_or_model, record)
    write_bytes_atomically(path, data)
    return path


def convert_to_bytes(function_or_model, record):
    """Like `convert`, but returns the finished flatbuffer as `bytes`."""
    import tensorflow as tf

    concrete = _concrete_function(function_or_model, record)
    # The converter freezes the weights only when they are tracked as plain
    # `tf.Variable`s; Keras 3 variables (or a Keras model tracked whole) leave
    # VAR_HANDLE/READ_VARIABLE ops that read uninitialised variables (NaN).
    holder = tf.Module()
    holder.tf_variables = list(concrete.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex, no custom ops
    # No `converter.optimizations`: weights and activations stay float32.
    try:
        with _native_stderr_silenced():
            data = converter.convert()
    except Exception as error:  # ConverterError, or a TF error while lowering.
        raise _conversion_error(error) from error
    not_builtin = [name for name in operator_names(data) if not _is_builtin(name)]
    if not_builtin:
        raise ZooError(
            f"The LiteRT file holds operators that are not builtin: {', '.join(not_builtin)}. "
            "Only builtin operators are allowed; nothing was written."
        )
    unfrozen = [name for name in operator_names(data) if name in _RESOURCE_VARIABLE_OPS]
    if unfrozen:
        raise ZooError(
            f"The LiteRT file reads its weights from resource variables ({', '.join(unfrozen)}) "
            "instead of holding them as constants; nothing was written."
        )
    return finalize(data, record)


def finalize(data, record, extra_metadata=None):
    """Names the ports `z`(/`label`)/`image` and embeds the record; returns bytes.

    Args:
        data: a converted flatbuffer (`bytes`).
        record: the generator's `GeneratorRecord`.
        extra_metadata: more `{key: value}` for the `"zoo"` entry.

    Returns:
        The rewritten flatbuffer. Earlier `"zoo"` metadata is replaced; the
        converter's own entries (`min_runtime_version`, ...) are kept.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    _name_ports(model, record)
    entry = record.to_litert_metadata(extra_metadata)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(entry, dtype=np.uint8)
    model.buffers.append(buffer)
    item = schema.MetadataT()
    item.name = METADATA_NAME
    item.buffer = len(model.buffers) - 1
    kept = [m for m in (model.metadata or []) if _text(m.name) != METADATA_NAME]
    model.metadata = kept + [item]
    model.description = f"keras-gan-zoo {record.describe()}"
    if sys.byteorder == "big":  # read_model_from_bytearray swapped to host order
        flatbuffer_utils.byte_swap_tflite_model_obj(model, "big", "little")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_metadata(path_or_bytes):
    """Returns the `"zoo"` metadata of a `.tflite` file as a str dict.

    Args:
        path_or_bytes: the file's path, or its bytes.

    Returns:
        The same dict `zoo.export.onnx_export.read_metadata` gives for the
        ONNX file (`latent_dim`, `image_shape`, `variant`, ...); `{}` when
        the file has no `"zoo"` entry.

    Example:

    >>> read_metadata("export/my-dcgan/generator.tflite")["image_shape"]
    '[28, 28, 1]'
    """
    data = _read_bytes(path_or_bytes)
    model = _root(data)
    for index in range(model.MetadataLength()):
        item = model.Metadata(index)
        if _text(item.Name()) != METADATA_NAME:
            continue
        buffer = model.Buffers(item.Buffer())
        if buffer.Offset() > 1:  # files over 2 GB keep buffers after the flatbuffer
            raw = bytes(data[buffer.Offset(): buffer.Offset() + buffer.Size()])
        else:
            raw = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
        try:
            return {str(key): str(value) for key, value in json.loads(raw.decode("utf-8")).items()}
        except (ValueError, UnicodeDecodeError, AttributeError) as error:
            raise ZooError(
                f"The '{METADATA_NAME}' metadata of the LiteRT file is not a JSON object ({error})."
            ) from None
    return {}


def read_record(path_or_bytes):
    """The `GeneratorRecord` stored in a `.tflite` file's `"zoo"` metadata.

    Raises:
        ZooError: one line, if the file has no (or a malformed) `"zoo"` entry.

    Example:

    >>> read_record("export/my-cgan/generator.tflite").num_classes
    10
    """
    source = "the LiteRT file" if isinstance(path_or_bytes, (bytes, bytearray, memoryview)) else str(path_or_bytes)
    return GeneratorRecord.from_litert_metadata(read_metadata(path_or_bytes), source=source)


def operator_names(path_or_bytes):
    """Returns the sorted operator names of a `.tflite` file.

    Builtin operators have their schema names (`"CONV_2D"`, `"FULLY_CONNECTED"`);
    custom ones their custom code (Flex ops start with `"Flex"`), prefixed
    with `"CUSTOM:"`.

    Example:

    >>> [name for name in operator_names("generator.tflite") if name.startswith("CUSTOM:")]
    []
    """
    from tensorflow.lite.python import schema_py_generated as schema

    by_code = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = _root(_read_bytes(path_or_bytes))
    names = set()
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            names.add(f"CUSTOM:{_text(code.CustomCode())}")
        else:
            names.add(by_code.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(names)


def load(path, threads=None):
    """Opens a `.tflite` file in `ai_edge_litert`'s interpreter.

    Args:
        path: the `.tflite` file.
        threads: CPU threads of the interpreter. Defaults to the number of
            physical cores (`zoo.sessions.physical_cores`).

    Returns:
        An `ai_edge_litert.interpreter.Interpreter` with its tensors
        allocated for batch 1; `run` resizes them to each batch.

    Example:

    >>> interpreter = load("export/my-dcgan/generator.tflite")
    """
    from ai_edge_litert.interpreter import Interpreter

    from zoo.sessions import physical_cores

    with _native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = Interpreter(model_path=os.fspath(path), num_threads=int(threads or physical_cores()))
        interpreter.allocate_tensors()
    return interpreter


def run(interpreter, feeds):
    """Runs the generator on `feeds` (by port name) and returns `image`.

    Inputs are found by name, not position, also when a runtime reports names
    such as `serving_default_z:0`. When the batch differs from the tensors'
    current one, the inputs are resized (`resize_tensor_input`, strict: only
    the dynamic batch dimension may change) and the tensors re-allocated.

    Args:
        interpreter: from `load`.
        feeds: `{"z": float32 [n, latent_dim]}`, plus `"label"` (int64 `[n]`,
            other integer types are cast) for conditional models; extra keys
            are ignored.

    Returns:
        The float32 image, `[n, H, W, C]`, as a NumPy array (a copy).

    Example:

    >>> run(interpreter, {"z": np.zeros([7, 64], np.float32)}).shape
    (7, 28, 28, 1)
    """
    inputs = {_port_name(detail["name"]): detail for detail in interpreter.get_input_details()}
    missing = [name for name in inputs if name not in feeds]
    if missing:
        raise ZooError(
            f"The LiteRT generator needs input {', '.join(repr(n) for n in missing)}. "
            f"Received: feeds with {', '.join(sorted(feeds)) or 'no keys'}. Expected: {', '.join(inputs)}."
        )
    values = {name: np.ascontiguousarray(feeds[name], dtype=detail["dtype"]) for name, detail in inputs.items()}
    resized = False
    for name, detail in inputs.items():
        if tuple(detail["shape"]) != values[name].shape:
            interpreter.resize_tensor_input(detail["index"], list(values[name].shape), strict=True)
            resized = True
    if resized:
        interpreter.allocate_tensors()
    for name, detail in inputs.items():
        interpreter.set_tensor(detail["index"], values[name])
    interpreter.invoke()
    outputs = interpreter.get_output_details()
    by_name = {_port_name(detail["name"]): detail for detail in outputs}
    output = by_name.get(IMAGE_NAME, outputs[0])
    return np.array(interpreter.get_tensor(output["index"]), dtype=np.float32, copy=True)


def _concrete_function(function_or_model, record):
    import keras

    from zoo.export import tracing

    if isinstance(function_or_model, keras.Model):
        function_or_model = tracing.serving_function(function_or_model, record)
    if hasattr(function_or_model, "get_concrete_function"):
        return function_or_model.get_concrete_function()
    if hasattr(function_or_model, "structured_outputs"):  # already a ConcreteFunction
        return function_or_model
    raise TypeError(
        "convert() needs the serving tf.function of zoo.export.tracing.serving_function or a Keras "
        f"generator. Received: {type(function_or_model).__name__}."
    )


def _conversion_error(error):
    """A one-line `ZooError` for a failed conversion, naming non-builtin TF ops."""
    needs_ops = set()
    for item in getattr(error, "errors", None) or []:
        name = getattr(getattr(item, "operator", None), "name", "")
        # ERROR_NEEDS_FLEX_OPS = 1, ERROR_NEEDS_CUSTOM_OPS = 2 (converter_error_data.proto)
        if name and getattr(item, "error_code", 0) in (1, 2):
            needs_ops.add(name[3:] if name.startswith("tf.") else name)
    if not needs_ops:
        needs_ops.update(_ops_named_in(str(error)))
    if needs_ops:
        return ZooError(
            f"LiteRT conversion needs TensorFlow ops that have no builtin LiteRT operator: "
            f"{', '.join(sorted(needs_ops))}. Flex (SELECT_TF_OPS) and custom ops are not used because "
            f"phone runtimes lack them; rewrite the layers that call them with builtin ops "
            f"({OPS_COMPATIBILITY_URL}). Nothing was written."
        )
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = next((line for line in lines if "error:" in line), lines[0] if lines else type(error).__name__)
    return ZooError(f"LiteRT conversion failed: {first[:300]}. Nothing was written.")


def _ops_named_in(message):
    import re

    found = set()
    for match in re.finditer(r"(?:Flex|Custom) ops: ([^\n]+)", message):
        found.update(part.strip() for part in match.group(1).split(",") if part.strip())
    for match in re.finditer(r"'tf\.([A-Za-z0-9_]+)' op is neither a custom op nor a flex op", message):
        found.add(match.group(1))
    return found


@contextlib.contextmanager
def _native_stderr_silenced():
    """Sends native (C++) log lines written to fd 2 to a discarded file.

    The converter prints kilobytes of MLIR locations for every op it cannot
    lower (the same facts come back in the raised error, reported in one
    line), and the interpreter announces its XNNPACK delegate. Python's
    `sys.stderr` is flushed first; fd 2 is restored afterwards.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to silence
        saved = None
    if saved is None:
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def _name_ports(model, record):
    """Names subgraph 0's input tensors `z`(/`label`) and its output `image`."""
    subgraph = model.subgraphs[0]
    wanted = list(record.input_names)
    by_port = {}
    for position in subgraph.inputs:
        name = _port_name(_text(subgraph.tensors[position].name))
        by_port[name] = position
    if sorted(by_port) != sorted(wanted):
        raise ZooError(
            f"The LiteRT converter produced inputs {sorted(by_port)}, expected {wanted}; "
            "the exported interface would not be stable."
        )
    if len(subgraph.outputs) != 1:
        raise ZooError(f"The LiteRT converter produced {len(subgraph.outputs)} outputs, expected one named 'image'.")
    for name, position in by_port.items():
        subgraph.tensors[position].name = name
    subgraph.tensors[subgraph.outputs[0]].name = IMAGE_NAME


def _port_name(name):
    """`serving_default_z:0` -> `z`; `StatefulPartitionedCall:0` stays as it is (without `:0`)."""
    name = _text(name)
    if ":" in name and name.rsplit(":", 1)[1].isdigit():
        name = name.rsplit(":", 1)[0]
    prefix = SIGNATURE_KEY + "_"
    if name.startswith(prefix):
        name = name[len(prefix):]
    return name


def _is_builtin(name):
    return not name.startswith("CUSTOM:")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _read_bytes(path_or_bytes):
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes)
    with open(os.fspath(path_or_bytes), "rb") as file:
        return file.read()


def _root(data):
    from tensorflow.lite.python import schema_py_generated as schema

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ZooError("Not a LiteRT (.tflite) flatbuffer: its file identifier is not 'TFL3'.")
    return schema.Model.GetRootAs(data, 0)

