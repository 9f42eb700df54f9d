"""Converting the traced generator to ONNX with stable names and metadata.

`tf2onnx.convert.from_function` converts the `tf.function` of
`zoo.export.tracing` (not `from_keras`, which fails on Keras 3 Sequential
models). The result is then normalised: ports named `z`/`label`/`image`, the
batch dimension named `batch`, the generator's `GeneratorRecord` stored as
`metadata_props` (`record.to_onnx_metadata()`), and the model checked with
`onnx.checker` (`full_check=True`). `read_record` reads the record back.

Example:

>>> read_record("export/dcgan-fashion-mnist/generator.onnx").latent_dim
64
"""

import onnx

from zoo.errors import ZooError
from zoo.record import BATCH_DIM, IMAGE_NAME, GeneratorRecord

MIN_OPSET, MAX_OPSET = 17, 18


def check_opset(opset, target=None):
    """Returns `opset` as an int after checking tf2onnx 1.17 (and `target`) can take it.

    Args:
        opset: the requested opset.
        target: a `zoo.export.targets.Target`; a portable target takes only
            its own opset. Defaults to `None` (any opset tf2onnx targets).
    """
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ZooError(
            f"Unsupported ONNX opset. Received: opset={opset!r}. Allowed: "
            f"{MIN_OPSET}..{MAX_OPSET} (tf2onnx 1.17 refuses opsets above 18)."
        )
    if target is not None and target.portable and opset != target.opset:
        raise ZooError(
            f"The {target.name} target is opset {target.opset}. Received: opset={opset}. "
            f"Drop --opset, or pass --target onnxruntime for opset {opset}."
        )
    return opset


def convert(function, record, opset=17):
    """Converts the serving `tf.function` to an `onnx.ModelProto`.

    Args:
        function: the traced function of `zoo.export.tracing.serving_function`.
        record: the generator's `GeneratorRecord`.
        opset: ONNX opset, 17 or 18. Defaults to `17`.

    Returns:
        The converted model with ports `z`(/`label`) and `image`, batch
        dimension `batch`.
    """
    import tf2onnx

    from zoo.export.tracing import input_signature

    specs = input_signature(record)
    model, _ = tf2onnx.convert.from_function(
        function, input_signature=specs, opset=check_opset(opset)
    )
    _name_ports(model, record)
    return model


def _name_ports(model, record):
    graph = model.graph
    input_names = [port.name for port in graph.input]
    if sorted(input_names) != sorted(record.input_names):
        raise ZooError(
            f"tf2onnx produced inputs {input_names}, expected {list(record.input_names)}; "
            "the exported interface would not be stable."
        )
    if len(graph.output) != 1:
        raise ZooError(
            f"tf2onnx produced {len(graph.output)} outputs, expected one named 'image'."
        )
    output = graph.output[0]
    if output.name != IMAGE_NAME:
        _rename_tensor(graph, output.name, IMAGE_NAME)
    # Inputs in the documented order: z first, then label.
    ports = {port.name: port for port in graph.input}
    ordered = [onnx.ValueInfoProto.FromString(ports[name].SerializeToString()) for name in record.input_names]
    del graph.input[:]
    graph.input.extend(ordered)
    for port in list(graph.input) + list(graph.output):
        dims = port.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = BATCH_DIM


def _rename_tensor(graph, old, new):
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for port in list(graph.output) + list(graph.value_info):
        if port.name == old:
            port.name = new


def finalize(model, record, extra_metadata=None):
    """Stores the record's metadata, its doc string and the producer on `model` (in place).

    Args:
        model: the converted `onnx.ModelProto`.
        record: the generator's `GeneratorRecord`.
        extra_metadata: more `{key: value}` entries (e.g. the export target).
    """
    from zoo import __version__

    del model.metadata_props[:]
    onnx.helper.set_model_props(model, record.to_onnx_metadata(extra_metadata))
    # tf2onnx writes "converted from b'__inference_generate_N'", N a per-process trace
    # counter: the same generator would give other bytes on every export.
    model.graph.doc_string = ""
    model.producer_name = "keras-gan-zoo"
    model.producer_version = __version__
    model.doc_string = record.describe()
    return model


def check(model):
    """Runs `onnx.checker.check_model(model, full_check=True)`; `ZooError` on failure."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # onnx raises ValidationError / InferenceError.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ZooError(f"The exported ONNX model fails onnx.checker: {first[:300]}") from error


def read_metadata(path_or_model):
    """Returns the `metadata_props` of an ONNX file or model as a dict.

    Example:

    >>> read_metadata("export/my-dcgan/generator.onnx")["latent_dim"]
    '64'
    """
    model = path_or_model
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(path_or_model), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def read_record(path_or_model):
    """The `GeneratorRecord` stored in an ONNX file or model, checked against its ports.

    Facts an older export left out are taken from the graph's ports.

    Raises:
        ZooError: one line, if the metadata are malformed or contradict the graph.

    Example:

    >>> read_record("export/my-cgan/generator.onnx").num_classes
    10
    """
    model = path_or_model
    source = "generator.onnx" if isinstance(model, onnx.ModelProto) else str(path_or_model)
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(path_or_model), load_external_data=False)
    inputs = {port.name: _dims(port) for port in model.graph.input}
    image = next((port for port in model.graph.output if port.name == IMAGE_NAME), model.graph.output[0])
    return GeneratorRecord.from_onnx_metadata(read_metadata(model), inputs, _dims(image), source=source)


def _dims(port):
    """A port's shape: ints for fixed dimensions, names (or `None`) for dynamic ones."""
    return [dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None) for dim in port.type.tensor_type.shape.dim]


def op_counts(model):
    """Returns `{op_type: count}` of the nodes of `model`'s main graph."""
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def opset_version(model):
    """The default-domain (`ai.onnx`) opset `model` imports, or 0 if none."""
    return max((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), default=0)
