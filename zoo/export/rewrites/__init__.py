"""The ONNX graph rewrites `zoo.export.onnx_optimize.optimize` applies, one module each.

In the order they run:

| module | rewrite |
|---|---|
| `projection_transpose` | the dense projection's NHWC->NCHW `Transpose` folded into its weights |
| `subpixel_conv` | `Resize(nearest, x2) -> Conv(3x3)` to four 2x2 phase convolutions + interleave |
| `conv_transpose` | `ConvTranspose(4x4, stride 2)` (+ folded BatchNorm) to the same phase convolutions |
| `conv_before_interleave` | the output convolution moved in front of the interleave, ending in a CRD `DepthToSpace` |
| `hoist_activations` | activations moved above `Concat`/`DepthToSpace` so they fuse with the convolutions |
| `concat_interleave` | `Concat(phases) -> DepthToSpace(2)` to `Reshape`s and `Concat`s (portable) |
| `col2im_interleave` | the same interleave as one `Col2Im` (the onnxruntime target, opset 18) |

`graph` holds what they share and `phase_interleave` the matching of the last two.
Each rewrite edits an `onnx.GraphProto` in place, returns how many patterns it
rewrote and computes exactly what the original graph computes.

Example:

>>> from zoo.export import rewrites
>>> rewrites.fuse_upsample_conv(model.graph)
2
"""

from zoo.export.rewrites.col2im_interleave import interleave_with_col2im  # noqa: F401
from zoo.export.rewrites.concat_interleave import interleave_with_concat  # noqa: F401
from zoo.export.rewrites.conv_before_interleave import (  # noqa: F401
    dcr_to_crd,
    interleaved_conv_kernel,
    move_convs_before_interleave,
    phase_pointwise_kernel,
)
from zoo.export.rewrites.conv_transpose import fuse_conv_transpose, transposed_phase_kernels  # noqa: F401
from zoo.export.rewrites.graph import drop_unused  # noqa: F401
from zoo.export.rewrites.hoist_activations import hoist_activations  # noqa: F401
from zoo.export.rewrites.projection_transpose import fold_projection_transpose  # noqa: F401
from zoo.export.rewrites.subpixel_conv import fuse_upsample_conv, phase_kernels  # noqa: F401
