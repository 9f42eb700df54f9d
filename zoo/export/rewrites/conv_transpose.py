"""Rewrites a 4x4, stride-2, pad-1 `ConvTranspose` into phase convolutions.

Keras' `Conv2DTranspose(k, 4, strides=2, padding="same")` (the DCGAN paper's
layers, `dcgan(upsampling="transpose")`) writes each output phase from a 2x2
window of its input: its 16 taps split into four 2x2 kernels
(`transposed_phase_kernels`), computed by ordinary convolutions and
interleaved by `DepthToSpace` -- the same graph as upsample + conv
(`zoo.export.rewrites.subpixel_conv`). onnxruntime's CPU `ConvTranspose` is
far slower than these (`bench/inference.py`). A per-channel `Mul`/`Add` right
after it (a folded BatchNorm) is folded into the new kernels and bias.

Safe when: the transposed convolution is ungrouped, float32, has constant
weights and bias, no `output_shape` and no `output_padding`; a `Mul`/`Add` is
folded only if it is the one reader and its other input is a constant scalar
or one value per channel.

Example:

>>> fuse_conv_transpose(model.graph)  # how many transposed convolutions were rewritten
2
"""

import numpy as np
from onnx import numpy_helper

from zoo.export.rewrites.graph import (
    attributes,
    bias_input,
    graph_outputs,
    initializers,
    insert_nodes,
    matching_kernel,
    only_consumer,
)
from zoo.export.rewrites.subpixel_conv import subpixel_nodes


def fuse_conv_transpose(graph):
    """Rewrites every `ConvTranspose(4x4, stride 2, pad 1)` into phase convolutions (in place); returns how many."""
    constants = initializers(graph)
    rewritten = 0
    for node in list(graph.node):
        weights = _conv_transpose_4x4_stride_2(node, constants)
        if weights is None:
            continue
        bias_name = bias_input(node)
        if bias_name is not None and bias_name not in constants:
            continue
        out_channels = weights.shape[1]
        bias = (
            numpy_helper.to_array(constants[bias_name]).astype(np.float64)
            if bias_name
            else np.zeros(out_channels)
        )
        kernels, bias, folded = _fold_scale_and_shift(
            graph, node, transposed_phase_kernels(weights), bias, constants, out_channels
        )
        output = folded[-1].output[0] if folded else node.output[0]
        prefix = f"zoo_transpose_{rewritten}"
        bias_constant = None
        if bias_name or folded:
            bias_constant = f"{prefix}_bias"
            graph.initializer.append(numpy_helper.from_array(bias.astype(np.float32), bias_constant))
        nodes = subpixel_nodes(graph, prefix, node.input[0], kernels, bias_constant, output)
        position = list(graph.node).index(node)
        for removed in [node] + folded:
            graph.node.remove(removed)
        insert_nodes(graph, position, nodes)
        rewritten += 1
    return rewritten


def _fold_scale_and_shift(graph, node, kernels, bias, constants, out_channels):
    """Folds a per-channel `Mul` and then `Add` reading `node`'s output into `kernels` and `bias`.

    Returns:
        `(kernels, bias, [the folded nodes])`.
    """
    outputs = graph_outputs(graph)
    output, folded = node.output[0], []
    for op_type in ("Mul", "Add"):
        consumer = only_consumer(graph, output)
        if output in outputs or consumer is None or consumer.op_type != op_type:
            break
        constant = _per_channel_constant(consumer, output, constants, out_channels)
        if constant is None:
            break
        if op_type == "Mul":
            kernels = {phase: (k * constant[:, None, None, None]).astype(np.float32) for phase, k in kernels.items()}
            bias = bias * constant
        else:
            bias = bias + constant
        folded.append(consumer)
        output = consumer.output[0]
    return kernels, bias, folded


def _conv_transpose_4x4_stride_2(node, constants):
    """The kernel `[C, O, 4, 4]` of a `ConvTranspose` this rewrite handles, else `None`."""
    if node.op_type != "ConvTranspose":
        return None
    if "output_shape" in attributes(node):
        return None
    expected = {"strides": ([2, 2], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([1, 1, 1, 1], [0, 0, 0, 0]),
                "kernel_shape": ([4, 4], [4, 4]), "output_padding": ([0, 0], [0, 0])}
    return matching_kernel(node, constants, 4, expected)


def transposed_phase_kernels(weights):
    """Splits a `ConvTranspose` kernel `[C, O, 4, 4]` (stride 2, pad 1) into 2x2 phase kernels.

    Output row `2m + a` of the transposed convolution receives input row `i`
    through tap `k = 2m + a + 1 - 2i`: phase a = 0 reads rows `m - 1, m` with
    taps 3, 1, phase a = 1 reads rows `m, m + 1` with taps 2, 0; columns
    likewise. As convolution windows these are the pads of `phase_kernels`.

    Returns:
        `{(a, b): kernel [O, C, 2, 2]}` for the phases a, b in {0, 1}.

    Example:

    >>> transposed_phase_kernels(np.zeros((8, 3, 4, 4), np.float32))[(1, 0)].shape
    (3, 8, 2, 2)
    """
    taps = {0: [3, 1], 1: [2, 0]}
    kernels = {}
    for a in (0, 1):
        for b in (0, 1):
            window = weights[:, :, taps[a], :][:, :, :, taps[b]]
            kernels[(a, b)] = np.ascontiguousarray(window.transpose(1, 0, 2, 3)).astype(np.float32)
    return kernels


def _per_channel_constant(node, data_input, constants, channels):
    """The `[channels]` constant that `node` (`Mul`/`Add`) applies along axis 1, or `None`."""
    others = [name for name in node.input if name != data_input]
    if len(node.input) != 2 or len(others) != 1 or others[0] not in constants:
        return None
    value = numpy_helper.to_array(constants[others[0]]).astype(np.float64)
    if value.size == 1:
        return np.full(channels, float(value.reshape(())))
    if value.shape in ((channels, 1, 1), (1, channels, 1, 1)):
        return value.reshape(channels)
    return None
