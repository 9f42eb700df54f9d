"""Converting the traced generator to ONNX with stable names and metadata.

`tf2onnx.convert.from_function` converts the `tf.function` of
`zoo.export.tracing` (not `from_keras`, which fails on Keras 3 Sequential
models). The result is then normalised: ports named `z`/`label`/`image`, the
batch dimension named `batch`, the metadata an app needs stored as
`metadata_props`, and the model checked with `onnx.checker` (`full_check=True`).
"""

import json

import onnx

from zoo.errors import ZooError
from zoo.export.signature import BATCH_DIM, IMAGE_NAME, OUTPUT_RANGE
from zoo.latent import LATENT_ALGORITHM

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


def convert(function, info, opset=17):
    """Converts the serving `tf.function` to an `onnx.ModelProto`.

    Args:
        function: the traced function of `zoo.export.tracing.serving_function`.
        info: the `GeneratorInfo`.
        opset: ONNX opset, 17 or 18. Defaults to `17`.

    Returns:
        The converted model with ports `z`(/`label`) and `image`, batch
        dimension `batch`.
    """
    import tf2onnx

    from zoo.export.tracing import input_signature

    specs = input_signature(info)
    model, _ = tf2onnx.convert.from_function(
        function, input_signature=specs, opset=check_opset(opset)
    )
    _name_ports(model, info)
    return model


def _name_ports(model, info):
    graph = model.graph
    input_names = [port.name for port in graph.input]
    if sorted(input_names) != sorted(info.input_names):
        raise ZooError(
            f"tf2onnx produced inputs {input_names}, expected {info.input_names}; "
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
    ordered = [onnx.ValueInfoProto.FromString(ports[name].SerializeToString()) for name in info.input_names]
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


def metadata(info, extra=None):
    """Returns the `metadata_props` of an exported generator as a str dict.

    Scalars are plain strings (`"64"`, `"dcgan"`); lists are JSON
    (`"[28, 28, 1]"`); `num_classes` is `"none"` for an unconditional model.
    Keys that are unknown (e.g. `dataset`) are left out.

    Example:

    >>> metadata(info)["image_shape"]
    '[28, 28, 1]'
    """
    from zoo import __version__

    props = {
        "zoo_version": __version__,
        "variant": info.variant,
        "latent_dim": str(info.latent_dim),
        "latent_distribution": "standard_normal",
        "latent_algorithm": LATENT_ALGORITHM,  # how zoo.latent draws z for a seed
        "num_classes": "none" if info.num_classes is None else str(info.num_classes),
        "conditional": "true" if info.conditional else "false",
        "image_shape": json.dumps(list(info.image_shape)),
        "image_layout": "NHWC",
        "output_range": json.dumps(list(OUTPUT_RANGE)),
        "inputs": ",".join(info.input_names),
        "outputs": IMAGE_NAME,
        "precision": "fp32",
        "class_names": None if info.class_names is None else json.dumps(info.class_names),
        "dataset": info.dataset,
        "training_steps": None if info.training_steps is None else str(info.training_steps),
    }
    props.update(extra or {})
    return {key: str(value) for key, value in props.items() if value is not None}


def finalize(model, info, extra_metadata=None):
    """Stores the metadata, a doc string and the producer on `model` (in place)."""
    from zoo import __version__

    del model.metadata_props[:]
    onnx.helper.set_model_props(model, metadata(info, extra_metadata))
    # tf2onnx writes "converted from b'__inference_generate_N'", N a per-process trace
    # counter: the same generator would give other bytes on every export.
    model.graph.doc_string = ""
    model.producer_name = "keras-gan-zoo"
    model.producer_version = __version__
    kind = f"conditional ({info.num_classes} classes)" if info.conditional else "unconditional"
    model.doc_string = (
        f"{info.variant or 'GAN'} generator, {kind}: z float32 [batch, {info.latent_dim}]"
        + (" and label int64 [batch]" if info.conditional else "")
        + f" -> image float32 [batch, {', '.join(map(str, info.image_shape))}] in [-1, 1]."
    )
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


def op_counts(model):
    """Returns `{op_type: count}` of the nodes of `model`'s main graph."""
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def opset_version(model):
    """The default-domain (`ai.onnx`) opset `model` imports, or 0 if none."""
    return max((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), default=0)
