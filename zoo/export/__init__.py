"""Exporting generators as verified Keras, SavedModel, ONNX and LiteRT artifacts.

Every exported generator has the same interface in every format: input `z`
float32 `[batch, latent_dim]`, for conditional models input `label` int64
`[batch]`, output `image` float32 `[batch, H, W, C]` in [-1, 1], with a dynamic
batch dimension. An export is written only if SavedModel, ONNX (onnxruntime),
LiteRT and the reloaded `.keras` file agree with Keras within atol = rtol = 1e-5.
The ONNX graph is portable by default (`zoo.export.targets`); `zoo.export.engines`
runs it in onnxruntime, OpenVINO, OpenCV DNN, tract, onnx2torch or the ONNX
reference evaluator.

Importing `zoo.export` is cheap; TensorFlow, tf2onnx and onnxruntime load on
first use.

Example:

>>> from zoo.export import export_generator, verify_artifact
>>> report = export_generator(gan, "export/my-dcgan")
>>> print(report)
>>> verify_artifact("export/my-dcgan").passed
True
"""

from zoo.lazy import lazy_exports

_EXPORTS = {
    "export_generator": "zoo.export.exporter",
    "ExportReport": "zoo.export.exporter",
    "verify_artifact": "zoo.export.verify",
    "VerifyReport": "zoo.export.verify",
    "load_test_vectors": "zoo.export.test_vectors",
    "read_manifest": "zoo.export.manifest",
    "read_metadata": "zoo.export.onnx_export",
    "onnx_session": "zoo.sessions",
    "session_options": "zoo.sessions",
    "get_target": "zoo.export.targets",
    "get_engine": "zoo.export.engines",
    "available_engines": "zoo.export.engines",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
