"""ONNX graph rewrites that make exported generators fast in onnxruntime.

tf2onnx already folds BatchNorm into the convolutions and cancels most
NHWC<->NCHW transposes (the nearest upsampling is traced as one `Resize`, see
`zoo.export.tracing`). On top of that, `optimize` removes the one transpose
tf2onnx leaves after the dense projection (`Reshape` to NHWC then `Transpose`
to NCHW; the projection's columns are permuted instead) and rewrites each

    Resize(nearest, x2) -> Conv(3x3, stride 1, pad 1)

into its sub-pixel form (Shi et al. 2016, "Real-Time Single Image and Video
Super-Resolution Using an Efficient Sub-Pixel CNN"): upsampling by copying
pixels followed by a 3x3 convolution equals four 2x2 convolutions on the small
input (one per output phase, with the 3x3 kernel's taps that land on the same
source pixel summed), interleaved by `DepthToSpace`. It computes the same
values with 4/9 of the multiply-adds and without materialising the upsampled
tensor. A `ConvTranspose` with a 4x4 kernel, stride 2 and pad 1 (Keras'
`Conv2DTranspose(k, 4, strides=2, padding="same")`) is the same kind of
operator and gets the same form, with its BatchNorm folded in (onnxruntime's
CPU `ConvTranspose` is slower than TensorFlow's own, see `bench/inference.py`).

A 3x3 convolution that reads such an interleaved tensor and writes far fewer
channels than it reads (the output layer: 24 channels in, 1 or 3 out) is then
moved in front of the interleave: it becomes one 4x4 stride-2 convolution of
the half-resolution phase tensor with 16x the output channels, and only its
small result is interleaved (`DepthToSpace(4)`); a 1x1 output convolution
becomes a block-diagonal 1x1 convolution of the phases (`DepthToSpace(2)`). onnxruntime's `DepthToSpace`
is a plain memory shuffle and its blocked convolutions waste most of a
16-channel block on a 1-channel output, so this saves far more than the extra
multiply-adds cost. Activations are moved above `Concat` and
`DepthToSpace` (they commute) so that they fuse with the convolutions. Finally,
a `Concat` of four phases followed by `DepthToSpace(2)` becomes an interleave
of `Reshape`s and `Concat`s alone (plain copies, which every runtime of
`zoo.export.targets` runs and onnxruntime runs several times faster than its
`DepthToSpace`); the `DepthToSpace` left after the output convolution is in CRD
mode, the one all those runtimes run. The runtime-tuned `"onnxruntime"` target
(opset 18) uses `Col2Im` (2x2 blocks, stride 2) for the interleave instead: the
same values bit for bit. See `bench/inference.py` and `bench/portability.py`;
the parity gate checks the rewritten graph like any other.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.export.onnx_export import op_counts, opset_version


def optimize(model, target="portable"):
    """Rewrites `model` for speed (in place) and returns `(model, facts)`.

    Args:
        model: an `onnx.ModelProto` produced by `zoo.export.onnx_export.convert`.
        target: a `zoo.export.targets.Target` or its name. The portable target
            interleaves phases with `DepthToSpace` (CRD); `"onnxruntime"` with
            `Col2Im` (opset 18). Defaults to `"portable"`.

    Returns:
        The model and a dict with `ops_before`, `ops` (op counts) and
        `rewrites` (how many patterns were rewritten).

    Example:

    >>> model, facts = optimize(model)
    >>> facts["rewrites"]
    {'subpixel_conv': 2, 'conv_transpose': 0, 'projection_transpose': 1, 'conv_before_interleave': 1,
     'hoisted_activations': 3, 'concat_interleave': 1}
    """
    from zoo.export.targets import get_target

    target = get_target(target)
    before = op_counts(model)
    folded = _fold_projection_transpose(model.graph)
    fused = _fuse_upsample_conv(model.graph)
    transposed = _fuse_conv_transpose(model.graph)
    moved = _move_convs_before_interleave(model.graph)
    hoisted = _hoist_unary_ops(model.graph)
    use_col2im = target.col2im and opset_version(model) >= 18
    interleaved = _interleave_phases(model, col2im=use_col2im)
    _drop_unused(model.graph)
    return model, {
        "ops_before": before,
        "ops": op_counts(model),
        "rewrites": {
            "subpixel_conv": fused,
            "conv_transpose": transposed,
            "projection_transpose": folded,
            "conv_before_interleave": moved,
            "hoisted_activations": hoisted,
            ("col2im_interleave" if use_col2im else "concat_interleave"): interleaved,
        },
        "target": target.name,
        "transposes": op_counts(model).get("Transpose", 0),
    }


ELEMENTWISE = {"Mul", "Add", "Sub", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu"}
# One-input elementwise ops: they commute with any rearrangement of pixels.
UNARY = {"Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu"}


def _fold_projection_transpose(graph):
    """Removes `MatMul -> (elementwise) -> Reshape NHWC -> Transpose NCHW`.

    The dense projection's output columns are permuted instead, so the Reshape
    yields NCHW directly: `x @ W[:, p]` reshaped to `[C, H, W]` equals `x @ W`
    reshaped to `[H, W, C]` and transposed. Per-column constants of the
    elementwise ops in between (the folded BatchNorm) are permuted alike.
    """
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {port.name for port in graph.output}
    folded = 0
    for transpose in list(graph.node):
        if transpose.op_type != "Transpose":
            continue
        perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"]
        reshape = producers.get(transpose.input[0])
        if perm != [[0, 3, 1, 2]] or reshape is None or reshape.op_type != "Reshape":
            continue
        if transpose.output[0] in graph_outputs:
            continue
        if reshape.input[1] not in initializers or len(consumers.get(reshape.output[0], [])) != 1:
            continue
        shape = numpy_helper.to_array(initializers[reshape.input[1]])
        if shape.shape != (4,) or shape[0] > 0 or (shape[1:] <= 0).any():
            continue
        height, width, channels = (int(d) for d in shape[1:])
        chain, node = [], producers.get(reshape.input[0])
        while node is not None and node.op_type in ELEMENTWISE:
            chain.append(node)
            node = producers.get(node.input[0])
        matmul = node
        if matmul is None or matmul.op_type != "MatMul" or matmul.input[1] not in initializers:
            continue
        weights = numpy_helper.to_array(initializers[matmul.input[1]])
        columns = height * width * channels
        if weights.ndim != 2 or weights.shape[1] != columns:
            continue
        between = [matmul] + chain[::-1]
        if any(len(consumers.get(n.output[0], [])) != 1 or n.output[0] in graph_outputs for n in between):
            continue
        constants = [name for n in chain for name in n.input[1:] if name]
        if not all(_per_column(initializers.get(name), columns) for name in constants):
            continue
        order = np.arange(columns).reshape(height, width, channels).transpose(2, 0, 1).reshape(-1)
        prefix = f"zoo_projection_{folded}"
        _replace_input(graph, matmul, 1, weights[:, order], f"{prefix}_weights")
        for n in chain:
            for position, name in enumerate(n.input[1:], start=1):
                if name:
                    value = numpy_helper.to_array(initializers[name])
                    if value.size == columns:
                        _replace_input(graph, n, position, value.reshape(-1)[order].reshape(value.shape), f"{prefix}_{n.name}_{position}")
        _replace_input(graph, reshape, 1, np.array([shape[0], channels, height, width], dtype=np.int64), f"{prefix}_shape")
        for node in consumers.get(transpose.output[0], []):
            node.input[:] = [reshape.output[0] if name == transpose.output[0] else name for name in node.input]
        graph.node.remove(transpose)
        folded += 1
    return folded


def _per_column(tensor, columns):
    if tensor is None:
        return False
    value = numpy_helper.to_array(tensor)
    return value.size == 1 or (value.size == columns and value.shape[-1] == columns)


def _replace_input(graph, node, position, value, name):
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
    node.input[position] = name


def _drop_unused(graph):
    used = {name for node in graph.node for name in node.input} | {port.name for port in graph.output}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    produced = {output for node in graph.node for output in node.output}
    kept_info = [port for port in graph.value_info if port.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(kept_info)


def _fuse_upsample_conv(graph):
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {port.name for port in graph.output}
    producers = {output: node for node in graph.node for output in node.output}

    replacements = {}  # id(conv node) -> new nodes; resize nodes dropped
    dropped = set()
    fused = 0
    for conv in graph.node:
        if conv.op_type != "Conv" or not conv.input:
            continue
        resize = producers.get(conv.input[0])
        if resize is None or not _is_nearest_x2(resize, initializers):
            continue
        if resize.output[0] in graph_outputs or len(consumers.get(resize.output[0], [])) != 1:
            continue
        weights = _conv_3x3_same(conv, initializers)
        if weights is None:
            continue
        bias = initializers.get(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else None
        if len(conv.input) > 2 and conv.input[2] and bias is None:
            continue
        bias = conv.input[2] if len(conv.input) > 2 and conv.input[2] else None
        replacements[id(conv)] = _subpixel_nodes(
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


def _is_nearest_x2(node, initializers):
    if node.op_type != "Resize":
        return False
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attributes.get("mode", b"nearest") != b"nearest":
        return False
    if attributes.get("coordinate_transformation_mode", b"half_pixel") != b"asymmetric":
        return False
    if attributes.get("nearest_mode", b"round_prefer_floor") != b"floor":
        return False
    if attributes.get("antialias", 0) or attributes.get("axes") or attributes.get(
        "keep_aspect_ratio_policy", b"stretch"
    ) != b"stretch":
        return False
    if len(node.input) != 3 or node.input[2] not in initializers:
        return False
    scales = numpy_helper.to_array(initializers[node.input[2]])
    return scales.shape == (4,) and np.array_equal(scales, [1.0, 1.0, 2.0, 2.0])


def _conv_3x3_same(node, initializers):
    expected = {"strides": ([1, 1], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([1, 1, 1, 1], [0, 0, 0, 0]),
                "kernel_shape": ([3, 3], [3, 3])}
    return _matching_kernel(node, initializers, 3, expected)


def _matching_kernel(node, initializers, size, expected):
    """`node`'s float32 `size`x`size` kernel if it is ungrouped and every `{attribute: (value, default)}` matches."""
    if len(node.input) < 2 or node.input[1] not in initializers:
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    weights = numpy_helper.to_array(initializers[node.input[1]])
    if weights.ndim != 4 or weights.shape[2:] != (size, size) or weights.dtype != np.float32:
        return None
    if attributes.get("group", 1) != 1 or attributes.get("auto_pad", b"NOTSET") != b"NOTSET":
        return None
    if any(list(attributes.get(key, default)) != value for key, (value, default) in expected.items()):
        return None
    return weights


def phase_kernels(weights):
    """Splits a 3x3 kernel `[O, I, 3, 3]` into the four 2x2 phase kernels.

    Output row `2i + a` of "upsample x2 then 3x3 conv" reads input rows
    `i - 1, i` (a = 0: taps 0 and 1+2) or `i, i + 1` (a = 1: taps 0+1 and 2);
    columns likewise.

    Returns:
        `{(a, b): kernel [O, I, 2, 2]}` for the phases a, b in {0, 1}.
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


def _subpixel_nodes(graph, prefix, source, kernels, bias, output):
    """Four 2x2 phase convolutions of `source`, concatenated and interleaved into `output`."""
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
        helper.make_node(
            "DepthToSpace", [stacked], [output], name=f"{prefix}_depth_to_space", blocksize=2, mode="DCR"
        )
    )
    return nodes


def _fuse_conv_transpose(graph):
    """Rewrites `ConvTranspose(4x4, stride 2, pad 1)` into phase convolutions.

    A stride-2 transposed convolution writes each output phase from a 2x2
    window of the input: its 16 taps split into four 2x2 kernels
    (`transposed_phase_kernels`), computed by ordinary convolutions and
    interleaved by `DepthToSpace`, as for upsample + conv. onnxruntime's CPU
    `ConvTranspose` is far slower than these. A per-channel `Mul`/`Add`
    right after it (a folded BatchNorm) is folded into the new kernels.
    """
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    graph_outputs = {port.name for port in graph.output}
    rewritten = 0
    for node in list(graph.node):
        weights = _conv_transpose_4x4_stride_2(node, initializers)
        if weights is None:
            continue
        bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if bias_name is not None and bias_name not in initializers:
            continue
        out_channels = weights.shape[1]
        kernels = transposed_phase_kernels(weights)
        bias = (
            numpy_helper.to_array(initializers[bias_name]).astype(np.float64)
            if bias_name
            else np.zeros(out_channels)
        )
        output, folded = node.output[0], []
        for op_type in ("Mul", "Add"):
            consumer = _only_consumer(graph, output)
            if output in graph_outputs or consumer is None or consumer.op_type != op_type:
                break
            constant = _per_channel_constant(consumer, output, initializers, out_channels)
            if constant is None:
                break
            if op_type == "Mul":
                kernels = {phase: (k * constant[:, None, None, None]).astype(np.float32) for phase, k in kernels.items()}
                bias = bias * constant
            else:
                bias = bias + constant
            folded.append(consumer)
            output = consumer.output[0]
        prefix = f"zoo_transpose_{rewritten}"
        bias_input = None
        if bias_name or folded:
            bias_input = f"{prefix}_bias"
            graph.initializer.append(numpy_helper.from_array(bias.astype(np.float32), bias_input))
        nodes = _subpixel_nodes(graph, prefix, node.input[0], kernels, bias_input, output)
        position = list(graph.node).index(node)
        for removed in [node] + folded:
            graph.node.remove(removed)
        for offset, new_node in enumerate(nodes):
            graph.node.insert(position + offset, new_node)
        rewritten += 1
    return rewritten


def _conv_transpose_4x4_stride_2(node, initializers):
    if node.op_type != "ConvTranspose":
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if "output_shape" in attributes:
        return None
    expected = {"strides": ([2, 2], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([1, 1, 1, 1], [0, 0, 0, 0]),
                "kernel_shape": ([4, 4], [4, 4]), "output_padding": ([0, 0], [0, 0])}
    return _matching_kernel(node, initializers, 4, expected)


def transposed_phase_kernels(weights):
    """Splits a `ConvTranspose` kernel `[C, O, 4, 4]` (stride 2, pad 1) into 2x2 phase kernels.

    Output row `2m + a` of the transposed convolution receives input row `i`
    through tap `k = 2m + a + 1 - 2i`: phase a = 0 reads rows `m - 1, m` with
    taps 3, 1, phase a = 1 reads rows `m, m + 1` with taps 2, 0; columns
    likewise. As convolution windows these are the pads of `phase_kernels`.

    Returns:
        `{(a, b): kernel [O, C, 2, 2]}` for the phases a, b in {0, 1}.
    """
    taps = {0: [3, 1], 1: [2, 0]}
    kernels = {}
    for a in (0, 1):
        for b in (0, 1):
            window = weights[:, :, taps[a], :][:, :, :, taps[b]]
            kernels[(a, b)] = np.ascontiguousarray(window.transpose(1, 0, 2, 3)).astype(np.float32)
    return kernels


def _only_consumer(graph, name):
    consumers = [node for node in graph.node if name in node.input]
    return consumers[0] if len(consumers) == 1 else None


def _per_channel_constant(node, data_input, initializers, channels):
    """The `[channels]` constant that `node` (`Mul`/`Add`) applies along axis 1, or `None`."""
    others = [name for name in node.input if name != data_input]
    if len(node.input) != 2 or len(others) != 1 or others[0] not in initializers:
        return None
    value = numpy_helper.to_array(initializers[others[0]]).astype(np.float64)
    if value.size == 1:
        return np.full(channels, float(value.reshape(())))
    if value.shape in ((channels, 1, 1), (1, channels, 1, 1)):
        return value.reshape(channels)
    return None


def _conv_1x1(node, initializers):
    expected = {"strides": ([1, 1], [1, 1]), "dilations": ([1, 1], [1, 1]), "pads": ([0, 0, 0, 0], [0, 0, 0, 0]),
                "kernel_shape": ([1, 1], [1, 1])}
    return _matching_kernel(node, initializers, 1, expected)


def _move_convs_before_interleave(graph):
    """`DepthToSpace(2) -> unary ops -> Conv` to `unary ops -> Conv -> DepthToSpace`.

    A 3x3 convolution becomes a 4x4 stride-2 one followed by `DepthToSpace(4)`
    (`interleaved_conv_kernel`); a 1x1 convolution becomes a 1x1 one with a
    block-diagonal kernel followed by `DepthToSpace(2)` (`phase_pointwise_kernel`).
    """
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    graph_outputs = {port.name for port in graph.output}
    moved = 0
    for conv in list(graph.node):
        if conv.op_type != "Conv":
            continue
        weights = _conv_3x3_same(conv, initializers)
        if weights is None:
            weights = _conv_1x1(conv, initializers)
        if weights is None or 4 * weights.shape[0] > weights.shape[1]:
            continue
        pointwise = weights.shape[2] == 1
        producers = {output: node for node in graph.node for output in node.output}
        consumers = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        chain, source = [], producers.get(conv.input[0])
        while source is not None and source.op_type in UNARY and len(source.input) == 1:
            chain.append(source)
            source = producers.get(source.input[0])
        if source is None or not _is_depth_to_space(source, 2):
            continue
        if not _has_even_spatial_size(graph, source.input[0]):
            continue
        between = [source] + chain
        if any(len(consumers.get(n.output[0], [])) != 1 or n.output[0] in graph_outputs for n in between):
            continue
        bias = conv.input[2] if len(conv.input) > 2 and conv.input[2] else None
        if bias is not None and bias not in initializers:
            continue
        prefix = f"zoo_phase_conv_{moved}"
        # The unary ops now run on the phase tensor, in the same order.
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
        if bias is not None:
            inputs.append(f"{prefix}_bias")
            tiled = np.tile(numpy_helper.to_array(initializers[bias]), blocksize**2)[order]
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
        moved += 1
    return moved


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


def _is_depth_to_space(node, blocksize):
    if node.op_type != "DepthToSpace":
        return False
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return attributes.get("blocksize") == blocksize and attributes.get("mode", b"DCR") == b"DCR"


def _has_even_spatial_size(graph, name):
    """Whether tensor `name` (NCHW) has known, even height and width."""
    model = helper.make_model(graph)
    inferred = onnx.shape_inference.infer_shapes(model).graph
    for port in list(inferred.value_info) + list(inferred.output):
        if port.name == name:
            dims = port.type.tensor_type.shape.dim
            sizes = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
            return len(sizes) == 4 and all(size > 0 and size % 2 == 0 for size in sizes[2:])
    return False


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
    """
    out_channels, in_channels = weights.shape[:2]
    kernel = np.zeros((4 * out_channels, 4 * in_channels, 1, 1), np.float32)
    for phase in range(4):
        kernel[phase * out_channels : (phase + 1) * out_channels, phase * in_channels : (phase + 1) * in_channels] = weights
    return kernel


def _tensor_shapes(graph):
    """`{name: [dims]}` of the graph's tensors (0 where unknown), by ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(helper.make_model(graph)).graph
    shapes = {}
    for port in list(inferred.value_info) + list(inferred.output) + list(inferred.input):
        dims = port.type.tensor_type.shape.dim
        shapes[port.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
    return shapes


def _interleave_phases(model, col2im=False):
    """`Concat(4 phases, axis 1) -> DepthToSpace(2, DCR)` to an interleave of plain copies.

    Phase `(a, b)` (`P[2a + b]`, `[N, C, H, W]`) holds pixels `(2i + a, 2j + b)`
    of the result. The portable form interleaves with `Reshape` and `Concat`
    alone: `P[2a]` and `P[2a + 1]` as `[N, C, H, W, 1]` concatenated on the last
    axis give row phase `a` as `[N, C, H, 1, 2W]`; the two rows concatenated on
    axis 3 give `[N, C, H, 2, 2W]`, which is `[N, C, 2H, 2W]`. Every runtime of
    `zoo.export.targets` runs those, and onnxruntime runs them about as fast as
    `Col2Im` and several times faster than its `DepthToSpace` (a generic tensor
    shuffle; `bench/portability.py`). With `col2im=True` (the onnxruntime target,
    opset 18) the phases are stacked per channel instead (`[N, C, 4, H*W]`,
    columns in CRD order) and `Col2Im` (2x2 blocks, stride 2) interleaves them.
    Both give the same values bit for bit.
    """
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    graph_outputs = {port.name for port in graph.output}
    shapes = None
    rewritten = 0
    for interleave in list(graph.node):
        if not _is_depth_to_space(interleave, 2):
            continue
        concat = producers.get(interleave.input[0])
        if concat is None or concat.op_type != "Concat" or len(concat.input) != 4:
            continue
        if helper.get_attribute_value(concat.attribute[0]) != 1 or concat.output[0] in graph_outputs:
            continue
        if _only_consumer(graph, concat.output[0]) is not interleave:
            continue
        shapes = shapes or _tensor_shapes(graph)
        dims = [shapes.get(name) for name in concat.input]
        if any(d is None or len(d) != 4 or 0 in d[1:] for d in dims) or any(d[1:] != dims[0][1:] for d in dims):
            continue
        _, channels, height, width = dims[0]
        prefix = f"zoo_{'col2im' if col2im else 'interleave'}_{rewritten}"
        phases = list(concat.input)
        output = interleave.output[0]
        if col2im:
            nodes = _col2im_interleave_nodes(graph, prefix, phases, output, channels, height, width)
        else:
            nodes = _concat_interleave_nodes(graph, prefix, phases, output, channels, height, width)
        position = list(graph.node).index(concat)
        graph.node.remove(concat)
        graph.node.remove(interleave)
        for offset, node in enumerate(nodes):
            graph.node.insert(position + offset, node)
        rewritten += 1
    return rewritten


def _concat_interleave_nodes(graph, prefix, phases, output, channels, height, width):
    """Nodes that interleave the phases `P[2a + b]` by `Reshape` and `Concat` only."""
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


def _col2im_interleave_nodes(graph, prefix, phases, output, channels, height, width):
    """Nodes that stack the phases per channel and interleave them with `Col2Im` (opset 18)."""
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


def _hoist_unary_ops(graph):
    """Moves one-input elementwise ops above `Concat`/`DepthToSpace`.

    They commute with both, and placed right after the phase convolutions they
    fuse with them in onnxruntime (`Conv` + `Relu`/`Tanh`) instead of making
    another pass over memory.
    """
    graph_outputs = {port.name for port in graph.output}
    hoisted = 0
    while True:
        producers = {output: node for node in graph.node for output in node.output}
        consumers = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        candidate = None
        for node in graph.node:
            source = producers.get(node.input[0]) if node.op_type in UNARY and len(node.input) == 1 else None
            if (
                source is not None
                and source.op_type in ("Concat", "DepthToSpace")
                and len(consumers.get(source.output[0], [])) == 1
                and source.output[0] not in graph_outputs
            ):
                candidate = node, source
                break
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
