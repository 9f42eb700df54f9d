"""ONNX graph rewrites that make exported generators fast in onnxruntime.

tf2onnx already folds BatchNorm into the convolutions and cancels most
NHWC<->NCHW transposes (the nearest upsampling is traced as one `Resize`, see
`zoo.export.tracing`). On top of that, `optimize` applies the rewrites of
`zoo.export.rewrites`, in this order:

1. fold the one transpose tf2onnx leaves after the dense projection into the
   projection's weights (`projection_transpose`);
2. rewrite each `Resize(nearest, x2) -> Conv(3x3)` into its sub-pixel form
   (Shi et al. 2016): four 2x2 convolutions of the small input, one per output
   phase, interleaved by `DepthToSpace` -- the same values with 4/9 of the
   multiply-adds and no upsampled tensor (`subpixel_conv`);
3. give a `ConvTranspose` with a 4x4 kernel, stride 2 and pad 1 the same form,
   its BatchNorm folded in (`conv_transpose`; onnxruntime's CPU `ConvTranspose`
   is slower than TensorFlow's own, see `bench/inference.py`);
4. move an output convolution that writes far fewer channels than it reads in
   front of the interleave, ending in a CRD `DepthToSpace`
   (`conv_before_interleave`);
5. move activations above `Concat` and `DepthToSpace` so that they fuse with
   the convolutions (`hoist_activations`);
6. turn each `Concat` of four phases followed by `DepthToSpace(2)` into plain
   copies: `Reshape`s and `Concat`s, which every runtime of
   `zoo.export.targets` runs (`concat_interleave`), or, for the runtime-tuned
   `"onnxruntime"` target (opset 18), one `Col2Im` (`col2im_interleave`); the
   same values bit for bit.

Each module says what it rewrites, why and when it is safe; see
`bench/inference.py` and `bench/portability.py` for the speed. The parity gate
checks the rewritten graph like any other.
"""

from zoo.export import rewrites
from zoo.export.onnx_export import op_counts, opset_version

# The kernel arithmetic of the rewrites, importable from here as before `zoo.export.rewrites` existed.
from zoo.export.rewrites import (  # noqa: F401
    dcr_to_crd,
    interleaved_conv_kernel,
    phase_kernels,
    phase_pointwise_kernel,
    transposed_phase_kernels,
)


def optimize(model, target="portable"):
    """Rewrites `model` for speed (in place) and returns `(model, facts)`.

    Args:
        model: an `onnx.ModelProto` produced by `zoo.export.onnx_export.convert`.
        target: a `zoo.export.targets.Target` or its name. The portable target
            interleaves phases with `Reshape`s and `Concat`s; `"onnxruntime"` with
            `Col2Im` (opset 18). Defaults to `"portable"`.

    Returns:
        The model and a dict with `ops_before`, `ops` (op counts),
        `rewrites` (how many patterns were rewritten), `target` and
        `transposes` (how many `Transpose` ops are left).

    Example:

    >>> model, facts = optimize(model)
    >>> facts["rewrites"]
    {'subpixel_conv': 2, 'conv_transpose': 0, 'projection_transpose': 1, 'conv_before_interleave': 1,
     'hoisted_activations': 3, 'concat_interleave': 1}
    """
    from zoo.export.targets import get_target

    target = get_target(target)
    graph = model.graph
    before = op_counts(model)
    folded = rewrites.fold_projection_transpose(graph)
    fused = rewrites.fuse_upsample_conv(graph)
    transposed = rewrites.fuse_conv_transpose(graph)
    moved = rewrites.move_convs_before_interleave(graph)
    hoisted = rewrites.hoist_activations(graph)
    use_col2im = target.col2im and opset_version(model) >= 18
    if use_col2im:
        interleaved = rewrites.interleave_with_col2im(graph)
    else:
        interleaved = rewrites.interleave_with_concat(graph)
    rewrites.drop_unused(graph)
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
