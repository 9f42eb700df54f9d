"""Interleaves phase tensors with `Reshape` and `Concat` instead of `DepthToSpace` (every target).

    Concat(P0, P1, P2, P3, axis 1) -> DepthToSpace(2, DCR)
    becomes Reshape + Concat(axis 4) per row phase -> Concat(axis 3) -> Reshape

`P[2a]` and `P[2a + 1]` as `[N, C, H, W, 1]` concatenated on the last axis give
row phase `a` as `[N, C, H, 1, 2W]`; the two rows concatenated on axis 3 give
`[N, C, H, 2, 2W]`, which is `[N, C, 2H, 2W]`. These are plain copies: every
runtime of `zoo.export.targets` runs them, and onnxruntime runs them about as
fast as `Col2Im` and several times faster than its `DepthToSpace`
(`bench/portability.py`). The values are the same bit for bit.

Safe when: `zoo.export.rewrites.phase_interleave` matches (four phases of one
known shape, read only by the interleave).

Example:

>>> interleave_with_concat(model.graph)  # how many interleaves were replaced
1
"""

import numpy as np
from onnx import helper, numpy_helper

from zoo.export.rewrites.phase_interleave import replace_phase_interleaves


def interleave_with_concat(graph):
    """Replaces every phase `Concat -> DepthToSpace(2)` by `Reshape`s and `Concat`s (in place); returns how many."""
    return replace_phase_interleaves(graph, "interleave", concat_interleave_nodes)


def concat_interleave_nodes(graph, prefix, phases, output, channels, height, width):
    """Nodes that interleave the phases `P[2a + b]` into `output` by `Reshape` and `Concat` only."""
    graph.initializer.extend([
        numpy_helper.from_array(np.array([0, channels, height, width, 1], np.int64), f"{prefix}_pixel_shape"),
        numpy_helper.from_array(np.array([0, channels, height, 1, 2 * width], np.int64), f"{prefix}_row_shape"),
        numpy_helper.from_array(np.array([0, channels, 2 * height, 2 * width], np.int64), f"{prefix}_image_shape"),
    ])
    nodes = []
    for index, name in enumerate(phases):
        nodes.append(helper.make_node("Reshape", [name, f"{prefix}_pixel_shape"], [f"{prefix}_phase{index}"],
                                      name=f"{prefix}_phase{index}"))
    rows = []
    for a in (0, 1):
        pair = [f"{prefix}_phase{2 * a}", f"{prefix}_phase{2 * a + 1}"]
        nodes += [
            helper.make_node("Concat", pair, [f"{prefix}_columns{a}"], name=f"{prefix}_columns{a}", axis=4),
            helper.make_node("Reshape", [f"{prefix}_columns{a}", f"{prefix}_row_shape"], [f"{prefix}_row{a}"],
                             name=f"{prefix}_row{a}"),
        ]
        rows.append(f"{prefix}_row{a}")
    nodes += [
        helper.make_node("Concat", rows, [f"{prefix}_rows"], name=f"{prefix}_rows", axis=3),
        helper.make_node("Reshape", [f"{prefix}_rows", f"{prefix}_image_shape"], [output], name=f"{prefix}_image"),
    ]
    return nodes
