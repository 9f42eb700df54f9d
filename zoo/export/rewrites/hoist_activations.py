"""Moves one-input activations above `Concat` and `DepthToSpace`.

    Concat(phases) -> Relu      becomes  Relu of each phase -> Concat
    DepthToSpace(x) -> Tanh     becomes  Tanh(x) -> DepthToSpace

An elementwise op of one input commutes with any rearrangement of pixels.
Placed right after the phase convolutions, the activation fuses with them in
onnxruntime (`Conv` + `Relu`/`Tanh`) instead of making another pass over
memory, and the interleave rewrites that follow
(`zoo.export.rewrites.concat_interleave`) see a bare `Concat -> DepthToSpace`.

Safe when: the op is one of `zoo.export.rewrites.graph.UNARY` with a single
input, it is the only reader of the `Concat`/`DepthToSpace` output, and that
output is not a graph output.

Example:

>>> hoist_activations(model.graph)  # how many activations moved
3
"""

from onnx import helper

from zoo.export.rewrites.graph import UNARY, consumers, graph_outputs, producers


def hoist_activations(graph):
    """Moves activations above `Concat`/`DepthToSpace` until none is left to move (in place); returns how many."""
    outputs = graph_outputs(graph)
    hoisted = 0
    while True:
        candidate = _next_candidate(graph, outputs)
        if candidate is None:
            return hoisted
        node, source = candidate
        data_inputs = list(source.input) if source.op_type == "Concat" else source.input[:1]
        position = list(graph.node).index(source)
        renamed = []
        for index, name in enumerate(data_inputs):
            output = f"{name}_{node.op_type.lower()}"
            copy = helper.make_node(node.op_type, [name], [output], name=f"{node.name}_{index}")
            copy.attribute.extend(node.attribute)
            graph.node.insert(position + index, copy)
            renamed.append(output)
        source.input[: len(renamed)] = renamed
        source.output[0] = node.output[0]
        graph.node.remove(node)
        hoisted += 1


def _next_candidate(graph, outputs):
    """The first `(activation, Concat or DepthToSpace it reads)` that can swap places, or `None`."""
    writers = producers(graph)
    readers = consumers(graph)
    for node in graph.node:
        source = writers.get(node.input[0]) if node.op_type in UNARY and len(node.input) == 1 else None
        if (
            source is not None
            and source.op_type in ("Concat", "DepthToSpace")
            and len(readers.get(source.output[0], [])) == 1
            and source.output[0] not in outputs
        ):
            return node, source
    return None
