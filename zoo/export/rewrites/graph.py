"""What the ONNX graph rewrites of `zoo.export.rewrites` share: lookups and pattern tests.

Every rewrite edits an `onnx.GraphProto` in place. These helpers find a tensor's
producer and consumers, test whether a node is the convolution or `DepthToSpace`
a rewrite expects (matching every attribute, defaults included, so that an
unexpected one leaves the node alone), infer tensor shapes and drop what a
rewrite left unused.

Example:

>>> weights = conv_3x3_same(node, initializers(graph))  # None unless a plain 3x3 "same" conv
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Elementwise ops that may sit between a dense projection and its reshape (a folded BatchNorm, an activation).
ELEMENTWISE = {"Mul", "Add", "Sub", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu"}
# One-input elementwise ops: they commute with any rearrangement of pixels.
UNARY = {"Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu"}


def initializers(graph):
    """`{name: TensorProto}` of the graph's constants."""
    return {tensor.name: tensor for tensor in graph.initializer}


def producers(graph):
    """`{tensor name: the node that writes it}`."""
    return {output: node for node in graph.node for output in node.output}


def consumers(graph):
    """`{tensor name: [the nodes that read it]}`."""
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def graph_outputs(graph):
    """The names of the graph's outputs (a rewrite must keep them)."""
    return {port.name for port in graph.output}


def only_consumer(graph, name):
    """The one node that reads tensor `name`, or `None` when none or several do."""
    readers = [node for node in graph.node if name in node.input]
    return readers[0] if len(readers) == 1 else None


def bias_input(node):
    """The name of a `Conv`'s or `ConvTranspose`'s bias input, or `None`."""
    return node.input[2] if len(node.input) > 2 and node.input[2] else None


def replace_input(graph, node, position, value, name):
    """Adds the constant `value` as initializer `name` and makes it `node`'s input `position`."""
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
    node.input[position] = name


def insert_nodes(graph, position, nodes):
    """Inserts `nodes` at `position` of the graph's node list, in order."""
    for offset, node in enumerate(nodes):
        graph.node.insert(position + offset, node)


def attributes(node):
    """`{name: value}` of a node's attributes."""
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def matching_kernel(node, constants, size, expected):
    """`node`'s float32 `size`x`size` kernel if it is ungrouped and every `{attribute: (value, default)}` matches."""
    if len(node.input) < 2 or node.input[1] not in constants:
        return None
    found = attributes(node)
    weights = numpy_helper.to_array(constants[node.input[1]])
    if weights.ndim != 4 or weights.shape[2:] != (size, size) or weights.dtype != np.float32:
        return None
    if found.get("group", 1) != 1 or found.get("auto_pad", b"NOTSET") != b"NOTSET":
        return None
    if any(list(found.get(key, default)) != value for key, (value, default) in expected.items()):
        return None
    return weights


def conv_3x3_same(node, constants):
    """The kernel of a 3x3, stride-1, pad-1 `Conv` (as `matching_kernel`), else `None`."""
    expected = {"strides": ([1, 1], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([1, 1, 1, 1], [0, 0, 0, 0]),
                "kernel_shape": ([3, 3], [3, 3])}
    return matching_kernel(node, constants, 3, expected)


def conv_1x1(node, constants):
    """The kernel of a 1x1, stride-1, unpadded `Conv` (as `matching_kernel`), else `None`."""
    expected = {"strides": ([1, 1], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([0, 0, 0, 0], [0, 0, 0, 0]),
                "kernel_shape": ([1, 1], [1, 1])}
    return matching_kernel(node, constants, 1, expected)


def is_depth_to_space(node, blocksize):
    """Whether `node` is a `DepthToSpace` of `blocksize` in DCR mode (the mode tf2onnx and `subpixel_nodes` write)."""
    if node.op_type != "DepthToSpace":
        return False
    found = attributes(node)
    return found.get("blocksize") == blocksize and found.get("mode", b"DCR") == b"DCR"


def tensor_shapes(graph):
    """`{name: [dims]}` of the graph's tensors (0 where unknown), by ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(helper.make_model(graph)).graph
    shapes = {}
    for port in list(inferred.value_info) + list(inferred.output) + list(inferred.input):
        dims = port.type.tensor_type.shape.dim
        shapes[port.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
    return shapes


def has_even_spatial_size(graph, name):
    """Whether tensor `name` (NCHW, computed by a node) has known, even height and width."""
    inferred = onnx.shape_inference.infer_shapes(helper.make_model(graph)).graph
    for port in list(inferred.value_info) + list(inferred.output):
        if port.name == name:
            dims = port.type.tensor_type.shape.dim
            sizes = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
            return len(sizes) == 4 and all(size > 0 and size % 2 == 0 for size in sizes[2:])
    return False


def drop_unused(graph):
    """Removes the initializers and `value_info` entries that no node reads or writes any more."""
    used = {name for node in graph.node for name in node.input} | graph_outputs(graph)
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    produced = {output for node in graph.node for output in node.output}
    kept_info = [port for port in graph.value_info if port.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(kept_info)
