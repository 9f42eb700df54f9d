"""Serving exported generators with onnxruntime alone (no TensorFlow).

`import zoo.serving` loads NumPy, Pillow's helpers and onnxruntime only; the HTTP
service (`zoo.serving.app`, FastAPI + uvicorn) is imported by `zoo serve`.
`OnnxGenerator` runs through `zoo.sampling.Sampler` (the one generator
interface) and returns uint8 pixels.

Example:

>>> from zoo.serving import OnnxGenerator
>>> g = OnnxGenerator("export/cgan-fashion-mnist")   # a folder, an .onnx file or a name
>>> images = g.generate(16, labels=[3] * 16, seed=7)  # uint8 [16, 28, 28, 1]
>>> g.metadata.latent_dim, g.metadata.num_classes
(64, 10)
>>> walk = g.interpolate(seed_a=1, seed_b=2, steps=8, labels=3)
"""

from zoo.serving.metadata import GeneratorMetadata
from zoo.serving.resolve import find_pretrained, list_pretrained, pretrained_names, resolve_onnx
from zoo.serving.runtime import OnnxGenerator, session_options

__all__ = [
    "GeneratorMetadata",
    "OnnxGenerator",
    "find_pretrained",
    "list_pretrained",
    "pretrained_names",
    "resolve_onnx",
    "session_options",
]
