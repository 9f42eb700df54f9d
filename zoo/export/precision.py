"""Optional reduced-precision copies of an exported ONNX generator.

Never the default: the float32 `generator.onnx` is always written and gated;
a reduced-precision file is written beside it and its error against Keras is
reported in the manifest.

- `"fp16"`: weights and activations in float16 via `onnxconverter-common`'s
  `convert_float_to_float16(keep_io_types=True)`, so the ports stay float32
  (`z` in, `image` out) and callers need no change.
- `"int8"`: `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations
  quantized on the fly) of the MatMul/Gemm layers.
"""

import os
import warnings

import onnx

from zoo.errors import ZooError


def reduce_precision(source, target, precision):
    """Writes a `precision` (`"fp16"` or `"int8"`) copy of ONNX file `source` to `target`.

    Example:

    >>> reduce_precision("generator.onnx", "generator.fp16.onnx", "fp16")
    """
    if precision == "fp16":
        return _to_float16(source, target)
    if precision == "int8":
        return _to_int8(source, target)
    raise ZooError(f"Unknown precision '{precision}'. Available: fp16, int8.")


def _to_float16(source, target):
    try:
        from onnxconverter_common import float16
    except ImportError as error:
        raise ZooError(
            "precision='fp16' needs onnxconverter-common: pip install 'onnxconverter-common>=1.16'."
        ) from error
    model = onnx.load(os.fspath(source))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "float32 number ... will be truncated"
        converted = float16.convert_float_to_float16(model, keep_io_types=True)
    _fix_float_casts(converted)
    _copy_metadata(model, converted, "fp16")
    onnx.checker.check_model(converted, full_check=True)
    onnx.save(converted, os.fspath(target))
    return target


def _fix_float_casts(model):
    """Makes `Cast(to=float)` nodes whose output became float16 cast to float16.

    onnxconverter-common 1.16 retypes such outputs (e.g. the int label cast to
    float inside the Embedding's bounds check) but leaves `to=FLOAT`, which
    fails type inference.
    """
    types = {info.name: info.type.tensor_type.elem_type for info in model.graph.value_info}
    for node in model.graph.node:
        if node.op_type != "Cast":
            continue
        for attribute in node.attribute:
            if (
                attribute.name == "to"
                and attribute.i == onnx.TensorProto.FLOAT
                and types.get(node.output[0]) == onnx.TensorProto.FLOAT16
            ):
                attribute.i = onnx.TensorProto.FLOAT16


def _to_int8(source, target):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        os.fspath(source),
        os.fspath(target),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"],
    )
    model = onnx.load(os.fspath(target))
    _copy_metadata(onnx.load(os.fspath(source)), model, "int8")
    onnx.save(model, os.fspath(target))
    return target


def _copy_metadata(source, target, precision):
    props = {prop.key: prop.value for prop in source.metadata_props}
    props["precision"] = precision
    del target.metadata_props[:]
    onnx.helper.set_model_props(target, props)
    target.doc_string = source.doc_string
