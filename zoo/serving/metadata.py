"""What a served generator is, read from its ONNX file alone.

`GeneratorMetadata` is the name a generator is served under, its
`zoo.record.GeneratorRecord` and the raw ONNX `metadata_props`. The record is read
by `GeneratorRecord.from_onnx_metadata` through onnxruntime
(`get_modelmeta().custom_metadata_map`, no `onnx` import), which fills what is
missing from the graph's own ports: `latent_dim` from the shape of `z`,
`image_shape` from the shape of `image`, conditionality from a `label` input.

Example:

>>> metadata = GeneratorMetadata.from_session(session, "cgan")
>>> metadata.record.latent_dim, metadata.to_dict()["conditional"]
(64, True)
"""

import dataclasses

from zoo.record import GeneratorRecord

# The facts `GET /v1/models` shows per model, in its order (the API's, not a metadata format).
SERVED_FACTS = ("variant", "latent_dim", "conditional", "num_classes", "class_names", "image_shape", "output_range")


@dataclasses.dataclass(frozen=True)
class GeneratorMetadata:
    """The facts of one served generator.

    Attributes:
        name: the name it is served under.
        record: its `GeneratorRecord` (latent size, classes, image shape, ...).
        properties: every `metadata_props` entry, as stored.
    """

    name: str
    record: GeneratorRecord
    properties: dict = dataclasses.field(default_factory=dict)

    latent_dim = property(lambda self: self.record.latent_dim)
    num_classes = property(lambda self: self.record.num_classes)
    image_shape = property(lambda self: self.record.image_shape)
    class_names = property(lambda self: self.record.class_names)
    variant = property(lambda self: self.record.variant)
    output_range = property(lambda self: self.record.output_range)
    conditional = property(lambda self: self.record.conditional)
    # Class names (`class_names`, else "0", "1", ...); `None` if unconditional.
    classes = property(lambda self: self.record.classes)

    def to_dict(self):
        """A JSON-ready dict (what `GET /v1/models` returns per model).

        The facts are the record's own (`GeneratorRecord.to_dict`), picked
        and ordered as the API has always listed them.
        """
        facts = {**self.record.to_dict(), "conditional": self.record.conditional}
        return {"name": self.name, **{key: facts[key] for key in SERVED_FACTS}, "properties": dict(self.properties)}

    @classmethod
    def from_session(cls, session, name):
        """Reads the metadata of an onnxruntime `InferenceSession`.

        Raises:
            ZooError: if a fact is neither stored nor visible in the graph, or
                the stored facts contradict the graph.
        """
        from zoo.sessions import onnx_ports

        properties = dict(session.get_modelmeta().custom_metadata_map)
        inputs, image = onnx_ports(session)
        return cls(name, GeneratorRecord.from_onnx_metadata(properties, inputs, image, source=name), properties)
