"""Interleaves phase tensors with one `Col2Im` instead of `DepthToSpace` (the onnxruntime target, opset 18).

    Concat(P0, P1, P2, P3, axis 1) -> DepthToSpace(2, DCR)
    becomes Reshape each to [N, C, 1, H*W] -> Concat(axis 2) -> Reshape [N, 4C, H*W] -> Col2Im(2x2, stride 2)

Stacked per channel, the phases are `Col2Im`'s columns in CRD order: each
2x2 block of the output gathers its four pixels from the four phases, and
the blocks do not overlap (stride 2), so `Col2Im` only copies. onnxruntime
runs it several times faster than its `DepthToSpace`; the values equal the
portable `zoo.export.rewrites.concat_interleave` bit for bit. Only the
runtime-tuned `"onnxruntime"` target uses it: `Col2Im` needs opset 18, which
the portable target's runtimes do not all run.

Safe when: `zoo.export.rewrites.phase_interleave` matches and the model's
opset is 18 or later (`zoo.export.onnx_optimize.optimize` checks it).

Example:

>>> interleave_with_col2im(model.graph)  # how many interleaves were replaced
1
"""

import numpy as np
from onnx import helper, numpy_helper

from zoo.export.rewrites.phase_interleave import replace_phase_interleaves


def interleave_with_col2im(graph):
    """Replaces every phase `Concat -> DepthToSpace(2)` by a `Col2Im` (in place); returns how many."""
    return replace_phase_interleaves(graph, "col2im", col2im_interleave_nodes)


def col2im_interleave_nodes(graph, prefix, phases, output, channels, height, width):
    """Nodes that stack the phases per channel and interleave them into `output` with `Col2Im`."""
    graph.initializer.extend([
        numpy_helper.from_array(np.array([0, channels, 1, height * width], np.int64), f"{prefix}_phase_shape"),
        numpy_helper.from_array(np.array([0, 4 * channels, height * width], np.int64), f"{prefix}_columns_shape"),
        numpy_helper.from_array(np.array([2 * height, 2 * width], np.int64), f"{prefix}_image_shape"),
        numpy_helper.from_array(np.array([2, 2], np.int64), f"{prefix}_block_shape"),
    ])
    nodes = []
    for index, name in enumerate(phases):
        flat = f"{prefix}_phase{index}"
        nodes.append(helper.make_node("Reshape", [name, f"{prefix}_phase_shape"], [flat], name=flat))
    nodes += [
        helper.make_node("Concat", [f"{prefix}_phase{i}" for i in range(4)], [f"{prefix}_stacked"],
                         name=f"{prefix}_concat", axis=2),
        helper.make_node("Reshape", [f"{prefix}_stacked", f"{prefix}_columns_shape"], [f"{prefix}_columns"],
                         name=f"{prefix}_columns"),
        helper.make_node("Col2Im", [f"{prefix}_columns", f"{prefix}_image_shape", f"{prefix}_block_shape"],
                         [output], name=f"{prefix}_col2im", strides=[2, 2]),
    ]
    return nodes
