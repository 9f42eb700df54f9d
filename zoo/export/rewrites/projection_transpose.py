"""Folds the layout transpose after a dense projection into the projection's weights.

tf2onnx cancels most NHWC<->NCHW transposes, but leaves one after a generator's
dense projection:

    MatMul -> (elementwise ops) -> Reshape [N, H, W, C] -> Transpose to NCHW

The projection's output columns are permuted instead, so that the `Reshape`
yields `[N, C, H, W]` directly and the `Transpose` (a full pass over memory)
goes: `x @ W[:, p]` reshaped to `[C, H, W]` equals `x @ W` reshaped to
`[H, W, C]` and transposed. Per-column constants of the elementwise ops in
between (the folded BatchNorm) are permuted alike.

Safe when: the `MatMul` weights and the `Reshape` shape are constants, every
constant in between is a scalar or one value per column, and no tensor of the
chain is a graph output or read by another node.

Example:

>>> fold_projection_transpose(model.graph)  # how many transposes went
1
"""

import numpy as np
from onnx import numpy_helper

from zoo.export.rewrites.graph import ELEMENTWISE, consumers, graph_outputs, initializers, producers, replace_input


def fold_projection_transpose(graph):
    """Removes `MatMul -> (elementwise) -> Reshape NHWC -> Transpose NCHW` (in place); returns how many."""
    constants = initializers(graph)
    writers = producers(graph)
    readers = consumers(graph)
    outputs = graph_outputs(graph)
    folded = 0
    for transpose in list(graph.node):
        match = _projection_before(transpose, constants, writers, readers, outputs)
        if match is None:
            continue
        matmul, chain, reshape, shape = match
        height, width, channels = (int(d) for d in shape[1:])
        columns = height * width * channels
        order = np.arange(columns).reshape(height, width, channels).transpose(2, 0, 1).reshape(-1)
        prefix = f"zoo_projection_{folded}"
        weights = numpy_helper.to_array(constants[matmul.input[1]])
        replace_input(graph, matmul, 1, weights[:, order], f"{prefix}_weights")
        for n in chain:
            for position, name in enumerate(n.input[1:], start=1):
                if name:
                    value = numpy_helper.to_array(constants[name])
                    if value.size == columns:
                        permuted = value.reshape(-1)[order].reshape(value.shape)
                        replace_input(graph, n, position, permuted, f"{prefix}_{n.name}_{position}")
        nchw = np.array([shape[0], channels, height, width], dtype=np.int64)
        replace_input(graph, reshape, 1, nchw, f"{prefix}_shape")
        for node in readers.get(transpose.output[0], []):
            node.input[:] = [reshape.output[0] if name == transpose.output[0] else name for name in node.input]
        graph.node.remove(transpose)
        folded += 1
    return folded


def _projection_before(transpose, constants, writers, readers, outputs):
    """`(matmul, elementwise chain, reshape, NHWC shape)` that `transpose` can be folded into, or `None`."""
    if transpose.op_type != "Transpose":
        return None
    perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"]
    reshape = writers.get(transpose.input[0])
    if perm != [[0, 3, 1, 2]] or reshape is None or reshape.op_type != "Reshape":
        return None
    if transpose.output[0] in outputs:
        return None
    if reshape.input[1] not in constants or len(readers.get(reshape.output[0], [])) != 1:
        return None
    shape = numpy_helper.to_array(constants[reshape.input[1]])
    if shape.shape != (4,) or shape[0] > 0 or (shape[1:] <= 0).any():
        return None
    chain, node = [], writers.get(reshape.input[0])
    while node is not None and node.op_type in ELEMENTWISE:
        chain.append(node)
        node = writers.get(node.input[0])
    matmul = node
    if matmul is None or matmul.op_type != "MatMul" or matmul.input[1] not in constants:
        return None
    weights = numpy_helper.to_array(constants[matmul.input[1]])
    columns = int(np.prod(shape[1:]))
    if weights.ndim != 2 or weights.shape[1] != columns:
        return None
    between = [matmul] + chain[::-1]
    if any(len(readers.get(n.output[0], [])) != 1 or n.output[0] in outputs for n in between):
        return None
    if not all(_per_column(constants.get(name), columns) for n in chain for name in n.input[1:] if name):
        return None
    return matmul, chain, reshape, shape


def _per_column(tensor, columns):
    """Whether constant `tensor` is a scalar or holds one value per projection column (last axis)."""
    if tensor is None:
        return False
    value = numpy_helper.to_array(tensor)
    return value.size == 1 or (value.size == columns and value.shape[-1] == columns)
