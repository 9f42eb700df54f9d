"""Finds the `Concat(4 phases) -> DepthToSpace(2, DCR)` interleaves that two rewrites replace.

`zoo.export.rewrites.subpixel_conv` and `zoo.export.rewrites.conv_transpose`
leave each upsampling step as four phase tensors `P[2a + b]` (`[N, C, H, W]`,
pixels `(2i + a, 2j + b)` of the result) concatenated on channels and
interleaved by `DepthToSpace`. onnxruntime runs `DepthToSpace` as a generic
tensor shuffle, several times slower than plain copies (`bench/portability.py`),
so `zoo.export.rewrites.concat_interleave` (every target) or
`zoo.export.rewrites.col2im_interleave` (the onnxruntime target) replaces it;
this module holds the matching both share.

Safe when: the `Concat` is on axis 1 of exactly four inputs of the same known
shape, its only reader is the `DepthToSpace`, and it is not a graph output.

Example:

>>> replace_phase_interleaves(model.graph, "interleave", concat_interleave_nodes)
1
"""

from onnx import helper

from zoo.export.rewrites.graph import (
    graph_outputs,
    insert_nodes,
    is_depth_to_space,
    only_consumer,
    producers,
    tensor_shapes,
)


def replace_phase_interleaves(graph, kind, build_nodes):
    """Replaces every phase interleave by the nodes `build_nodes` returns (in place); returns how many.

    Args:
        graph: an `onnx.GraphProto`.
        kind: the word in the new nodes' names, `zoo_<kind>_<i>_...`.
        build_nodes: `build_nodes(graph, prefix, phases, output, channels, height, width)`
            adds its constants to `graph` and returns the nodes that write
            `output` (`[N, C, 2H, 2W]`) from the four `phases` (`[N, C, H, W]`).
    """
    writers = producers(graph)
    outputs = graph_outputs(graph)
    shapes = None
    rewritten = 0
    for interleave in list(graph.node):
        if not is_depth_to_space(interleave, 2):
            continue
        concat = writers.get(interleave.input[0])
        if concat is None or concat.op_type != "Concat" or len(concat.input) != 4:
            continue
        if helper.get_attribute_value(concat.attribute[0]) != 1 or concat.output[0] in outputs:
            continue
        if only_consumer(graph, concat.output[0]) is not interleave:
            continue
        shapes = shapes or tensor_shapes(graph)
        dims = [shapes.get(name) for name in concat.input]
        if any(d is None or len(d) != 4 or 0 in d[1:] for d in dims) or any(d[1:] != dims[0][1:] for d in dims):
            continue
        _, channels, height, width = dims[0]
        prefix = f"zoo_{kind}_{rewritten}"
        nodes = build_nodes(graph, prefix, list(concat.input), interleave.output[0], channels, height, width)
        position = list(graph.node).index(concat)
        graph.node.remove(concat)
        graph.node.remove(interleave)
        insert_nodes(graph, position, nodes)
        rewritten += 1
    return rewritten
