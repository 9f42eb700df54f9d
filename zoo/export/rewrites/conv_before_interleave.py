"""Moves an output convolution in front of the interleave that feeds it, ending in a CRD `DepthToSpace`.

    DepthToSpace(2, DCR) -> (one-input activations) -> Conv(3x3 same or 1x1)
    becomes (activations) -> Conv of the phase tensor -> DepthToSpace(CRD)

A generator's last convolution reads the interleaved full-resolution tensor
and writes far fewer channels than it reads (24 in, 1 or 3 out). Run on the
half-resolution phase tensor instead, a 3x3 convolution becomes one 4x4
stride-2 convolution with 16x the output channels (`interleaved_conv_kernel`,
then `DepthToSpace(4)`), a 1x1 one a block-diagonal 1x1 convolution
(`phase_pointwise_kernel`, then `DepthToSpace(2)`), and only its small result
is interleaved. onnxruntime's `DepthToSpace` is a plain memory shuffle and its
blocked convolutions waste most of a 16-channel block on a 1-channel output,
so this saves far more than the extra multiply-adds cost. The new kernels
write their outputs in DCR order; their output channels are permuted
(`dcr_to_crd`) so that the `DepthToSpace` is in CRD mode, the one every
runtime of `zoo.export.targets` runs.

Safe when: the convolution is an ungrouped float32 3x3 "same" or 1x1 one with
constant weights and bias and at most a quarter as many outputs as inputs, the
interleaved tensor has a known, even height and width, and no tensor between
the `DepthToSpace` and the convolution is a graph output or read elsewhere.

Example:

>>> move_convs_before_interleave(model.graph)  # how many convolutions moved
1
"""

import numpy as np
from onnx import helper, numpy_helper

from zoo.export.rewrites.graph import (
    UNARY,
    bias_input,
    consumers,
    conv_1x1,
    conv_3x3_same,
    graph_outputs,
    has_even_spatial_size,
    initializers,
    is_depth_to_space,
    producers,
)


def move_convs_before_interleave(graph):
    """Moves every matching convolution before its `DepthToSpace(2)` (in place); returns how many."""
    constants = initializers(graph)
    moved = 0
    for conv in list(graph.node):
        match = _interleaved_conv(graph, conv, constants)
        if match is None:
            continue
        weights, chain, source = match
        _run_on_phases(graph, conv, weights, chain, source, constants, f"zoo_phase_conv_{moved}")
        moved += 1
    return moved


def _interleaved_conv(graph, conv, constants):
    """`(weights, activations in between, the DepthToSpace)` when `conv` can move, else `None`."""
    if conv.op_type != "Conv":
        return None
    weights = conv_3x3_same(conv, constants)
    if weights is None:
        weights = conv_1x1(conv, constants)
    if weights is None or 4 * weights.shape[0] > weights.shape[1]:
        return None
    writers = producers(graph)
    readers = consumers(graph)
    chain, source = [], writers.get(conv.input[0])
    while source is not None and source.op_type in UNARY and len(source.input) == 1:
        chain.append(source)
        source = writers.get(source.input[0])
    if source is None or not is_depth_to_space(source, 2):
        return None
    if not has_even_spatial_size(graph, source.input[0]):
        return None
    outputs = graph_outputs(graph)
    if any(len(readers.get(n.output[0], [])) != 1 or n.output[0] in outputs for n in [source] + chain):
        return None
    bias = bias_input(conv)
    if bias is not None and bias not in constants:
        return None
    return weights, chain, source


def _run_on_phases(graph, conv, weights, chain, source, constants, prefix):
    """Replaces `source -> chain -> conv` by `chain -> phase conv -> DepthToSpace(CRD)`."""
    pointwise = weights.shape[2] == 1
    # The activations now run on the phase tensor, in the same order.
    phases = source.input[0]
    for node in reversed(chain):
        node.input[0] = phases
        phases = node.output[0]
    inputs = [phases, f"{prefix}_weights"]
    kernel = phase_pointwise_kernel(weights) if pointwise else interleaved_conv_kernel(weights)
    blocksize = 2 if pointwise else 4
    # The kernels write their outputs in DCR order; CRD is the mode every runtime runs.
    order = dcr_to_crd(weights.shape[0], blocksize)
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(kernel[order]), inputs[1]))
    bias = bias_input(conv)
    if bias is not None:
        inputs.append(f"{prefix}_bias")
        tiled = np.tile(numpy_helper.to_array(constants[bias]), blocksize**2)[order]
        graph.initializer.append(numpy_helper.from_array(tiled, inputs[2]))
    interleaved = f"{prefix}_interleaved"
    geometry = (
        dict(kernel_shape=[1, 1], strides=[1, 1], pads=[0, 0, 0, 0])
        if pointwise
        else dict(kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    )
    new_conv = helper.make_node(
        "Conv", inputs, [interleaved], name=f"{prefix}_conv", dilations=[1, 1], group=1, **geometry
    )
    interleave = helper.make_node(
        "DepthToSpace", [interleaved], [conv.output[0]], name=f"{prefix}_depth_to_space",
        blocksize=blocksize, mode="CRD",
    )
    position = list(graph.node).index(conv)
    graph.node.remove(conv)
    graph.node.insert(position, interleave)
    graph.node.insert(position, new_conv)
    graph.node.remove(source)


def dcr_to_crd(channels, blocksize):
    """The channel order that turns a `DepthToSpace` input from DCR into CRD layout.

    DCR stores output channel `c` of block position `k` at `k * channels + c`,
    CRD at `c * blocksize**2 + k`; `tensor[dcr_to_crd(...)]` (on the channel
    axis) moves each to its CRD place, so `DepthToSpace(mode="CRD")` of the
    result equals `DepthToSpace(mode="DCR")` of the original.

    Example:

    >>> dcr_to_crd(2, 2)
    array([0, 2, 4, 6, 1, 3, 5, 7])
    """
    positions = blocksize**2
    return np.array([k * channels + c for c in range(channels) for k in range(positions)], np.int64)


def interleaved_conv_kernel(weights):
    """The stride-2 kernel that applies a 3x3 `weights` to an image stored as phases.

    A full-resolution image `X` [C, 2H, 2W] stored as phases `P` [4C, H, W]
    (`DepthToSpace` DCR order: `X[c, 2i + a, 2j + b] = P[(2a + b) C + c, i, j]`)
    is convolved by a 4x4, stride-2, pad-1 convolution of `P` whose 16 output
    phases `(p, q)` (p, q in 0..3) are output pixels `(4I + p, 4J + q)` of the
    3x3 "same" convolution of `X`: output row `4I + p + dy` (dy in -1, 0, 1) is
    phase row `2I + floor((p + dy) / 2)` of phase `(p + dy) mod 2`, i.e. tap
    `floor((p + dy) / 2) + 1` of the strided window; columns likewise. Zero
    padding carries over exactly. `DepthToSpace(4)` then yields `X`'s
    convolution at full resolution; the output channels of a 3x3 layer with few
    outputs (an image's 1 or 3) become 16 or 48, which onnxruntime's blocked
    convolutions use fully.

    Args:
        weights: a kernel `[O, C, 3, 3]`.

    Returns:
        The kernel `[16 * O, 4 * C, 4, 4]`, output channels in DCR order.

    Example:

    >>> interleaved_conv_kernel(np.ones((1, 24, 3, 3), np.float32)).shape
    (16, 96, 4, 4)
    """
    out_channels, in_channels = weights.shape[:2]
    kernel = np.zeros((16 * out_channels, 4 * in_channels, 4, 4), np.float64)
    for p in range(4):
        for q in range(4):
            rows = slice((4 * p + q) * out_channels, (4 * p + q + 1) * out_channels)
            for dy in (-1, 0, 1):
                a, tap_row = (p + dy) % 2, (p + dy) // 2 + 1
                for dx in (-1, 0, 1):
                    b, tap_column = (q + dx) % 2, (q + dx) // 2 + 1
                    columns = slice((2 * a + b) * in_channels, (2 * a + b + 1) * in_channels)
                    kernel[rows, columns, tap_row, tap_column] += weights[:, :, dy + 1, dx + 1]
    return kernel.astype(np.float32)


def phase_pointwise_kernel(weights):
    """The 1x1 kernel that applies a 1x1 `weights` to each phase of an image stored as phases.

    With `X[c, 2i + a, 2j + b] = P[(2a + b) C + c, i, j]` (`DepthToSpace` DCR
    order), a pointwise convolution of `X` is the same convolution of each
    phase: a block-diagonal kernel whose output phases are again in DCR order,
    so `DepthToSpace(2)` of its result is the convolution of `X`.

    Args:
        weights: a kernel `[O, C, 1, 1]`.

    Returns:
        The kernel `[4 * O, 4 * C, 1, 1]`.

    Example:

    >>> phase_pointwise_kernel(np.ones((3, 24, 1, 1), np.float32)).shape
    (12, 96, 1, 1)
    """
    out_channels, in_channels = weights.shape[:2]
    kernel = np.zeros((4 * out_channels, 4 * in_channels, 1, 1), np.float32)
    for phase in range(4):
        rows = slice(phase * out_channels, (phase + 1) * out_channels)
        columns = slice(phase * in_channels, (phase + 1) * in_channels)
        kernel[rows, columns] = weights
    return kernel
