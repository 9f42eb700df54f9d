"""Rewrites nearest x2 upsampling followed by a 3x3 convolution into its sub-pixel form.

    Resize(nearest, x2) -> Conv(3x3, stride 1, pad 1)
    becomes four Conv(2x2) of the small input -> Concat -> DepthToSpace(2, DCR)

Upsampling by copying pixels and then convolving with a 3x3 kernel equals four
2x2 convolutions of the small input, one per output phase, with the 3x3 taps
that land on the same source pixel summed (`phase_kernels`; Shi et al. 2016,
"Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
CNN"). The same values with 4/9 of the multiply-adds and without
materialising the upsampled tensor; later rewrites turn the `DepthToSpace`
into cheaper copies (`zoo.export.rewrites.concat_interleave`).

Safe when: the `Resize` is exactly what Keras' nearest `UpSampling2D` traces
to (nearest, asymmetric, floor, constant scales `[1, 1, 2, 2]`), only the
convolution reads it, and the convolution is an ungrouped float32 3x3 "same"
one with constant weights and bias.

Example:

>>> fuse_upsample_conv(model.graph)  # how many upsample + conv pairs were rewritten
2
"""

import numpy as np
from onnx import helper, numpy_helper

from zoo.export.rewrites.graph import (
    attributes,
    bias_input,
    consumers,
    conv_3x3_same,
    graph_outputs,
    initializers,
    producers,
)


def fuse_upsample_conv(graph):
    """Rewrites every `Resize(nearest, x2) -> Conv(3x3 same)` into phase convolutions (in place); returns how many."""
    constants = initializers(graph)
    readers = consumers(graph)
    outputs = graph_outputs(graph)
    writers = producers(graph)
    replacements = {}  # id(conv node) -> new nodes; resize nodes dropped
    dropped = set()
    fused = 0
    for conv in graph.node:
        if conv.op_type != "Conv" or not conv.input:
            continue
        resize = writers.get(conv.input[0])
        if resize is None or not _is_nearest_x2(resize, constants):
            continue
        if resize.output[0] in outputs or len(readers.get(resize.output[0], [])) != 1:
            continue
        weights = conv_3x3_same(conv, constants)
        if weights is None:
            continue
        bias = bias_input(conv)
        if bias is not None and bias not in constants:
            continue
        replacements[id(conv)] = subpixel_nodes(
            graph, f"zoo_subpixel_{fused}", resize.input[0], phase_kernels(weights), bias, conv.output[0]
        )
        dropped.add(id(resize))
        fused += 1
    if fused:
        nodes = []
        for node in graph.node:
            if id(node) in dropped:
                continue
            nodes.extend(replacements.get(id(node), [node]))
        del graph.node[:]
        graph.node.extend(nodes)
    return fused


def _is_nearest_x2(node, constants):
    """Whether `node` is the `Resize` of Keras' nearest x2 `UpSampling2D`."""
    if node.op_type != "Resize":
        return False
    found = attributes(node)
    if found.get("mode", b"nearest") != b"nearest":
        return False
    if found.get("coordinate_transformation_mode", b"half_pixel") != b"asymmetric":
        return False
    if found.get("nearest_mode", b"round_prefer_floor") != b"floor":
        return False
    if found.get("antialias", 0) or found.get("axes"):
        return False
    if found.get("keep_aspect_ratio_policy", b"stretch") != b"stretch":
        return False
    if len(node.input) != 3 or node.input[2] not in constants:
        return False
    scales = numpy_helper.to_array(constants[node.input[2]])
    return scales.shape == (4,) and np.array_equal(scales, [1.0, 1.0, 2.0, 2.0])


def phase_kernels(weights):
    """Splits a 3x3 kernel `[O, I, 3, 3]` into the four 2x2 phase kernels.

    Output row `2i + a` of "upsample x2 then 3x3 conv" reads input rows
    `i - 1, i` (a = 0: taps 0 and 1+2) or `i, i + 1` (a = 1: taps 0+1 and 2);
    columns likewise.

    Returns:
        `{(a, b): kernel [O, I, 2, 2]}` for the phases a, b in {0, 1}.

    Example:

    >>> kernels = phase_kernels(np.ones((8, 4, 3, 3), np.float32))
    >>> kernels[(0, 0)].shape, float(kernels[(0, 0)][0, 0, 1, 1])
    ((8, 4, 2, 2), 4.0)
    """
    weights = weights.astype(np.float64)
    rows = {
        0: np.stack([weights[:, :, 0], weights[:, :, 1] + weights[:, :, 2]], axis=2),
        1: np.stack([weights[:, :, 0] + weights[:, :, 1], weights[:, :, 2]], axis=2),
    }
    kernels = {}
    for a, row_kernel in rows.items():
        columns = {
            0: np.stack([row_kernel[..., 0], row_kernel[..., 1] + row_kernel[..., 2]], axis=3),
            1: np.stack([row_kernel[..., 0] + row_kernel[..., 1], row_kernel[..., 2]], axis=3),
        }
        for b, kernel in columns.items():
            kernels[(a, b)] = kernel.astype(np.float32)
    return kernels


def subpixel_nodes(graph, prefix, source, kernels, bias, output):
    """Four 2x2 phase convolutions of `source`, concatenated and interleaved into `output`.

    Adds the kernels to the graph's initializers and returns the new nodes
    (the caller puts them in place): `Conv` per phase `(a, b)` padded so that
    it reads the window of that phase, `Concat` on channels, `DepthToSpace(2, DCR)`.
    `bias` is the name of a constant bias every phase adds, or `None`.
    """
    phase_outputs = []
    nodes = []
    for (a, b), kernel in sorted(kernels.items()):
        name = f"{prefix}_w{a}{b}"
        graph.initializer.append(numpy_helper.from_array(kernel, name))
        phase_output = f"{prefix}_phase{a}{b}"
        inputs = [source, name] + ([bias] if bias else [])
        nodes.append(
            helper.make_node(
                "Conv",
                inputs,
                [phase_output],
                name=f"{prefix}_conv{a}{b}",
                kernel_shape=[2, 2],
                strides=[1, 1],
                dilations=[1, 1],
                group=1,
                # pads = [top, left, bottom, right]
                pads=[1 - a, 1 - b, a, b],
            )
        )
        phase_outputs.append(phase_output)
    stacked = f"{prefix}_phases"
    nodes.append(helper.make_node("Concat", phase_outputs, [stacked], name=f"{prefix}_concat", axis=1))
    nodes.append(
        helper.make_node("DepthToSpace", [stacked], [output], name=f"{prefix}_depth_to_space", blocksize=2, mode="DCR")
    )
    return nodes
