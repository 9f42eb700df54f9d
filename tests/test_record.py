"""`zoo.record.GeneratorRecord`: one record of a generator, its conversions, its checks."""

import json
import os
import subprocess
import sys

import pytest

from zoo.errors import ZooError
from zoo.latent import LATENT_ALGORITHM
from zoo.record import GeneratorRecord

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT = os.path.join(ROOT, "export")
PUBLISHED = sorted(
    name for name in os.listdir(EXPORT) if os.path.isfile(os.path.join(EXPORT, name, "manifest.json"))
)

CONDITIONAL = GeneratorRecord(
    latent_dim=64,
    image_shape=(28, 28, 1),
    num_classes=3,
    class_names=("a", "b", "c"),
    variant="cgan",
    dataset="fashion_mnist",
    training_steps=120,
    parameters=5000,
)
UNCONDITIONAL = GeneratorRecord(latent_dim=8, image_shape=[4, 4, 3])


@pytest.mark.parametrize("record", [CONDITIONAL, UNCONDITIONAL], ids=["conditional", "unconditional"])
def test_every_conversion_round_trips(record):
    assert GeneratorRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    # ONNX metadata does not carry the parameter count.
    assert GeneratorRecord.from_onnx_metadata(record.to_onnx_metadata()) == record.replace(parameters=None)
    assert GeneratorRecord.from_litert_metadata(record.to_litert_metadata()) == record.replace(parameters=None)


def test_onnx_metadata_is_strings_in_the_published_spelling():
    props = CONDITIONAL.to_onnx_metadata({"export_target": "portable"})
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in props.items())
    assert props["latent_dim"] == "64"
    assert props["image_shape"] == "[28, 28, 1]"
    assert props["output_range"] == "[-1.0, 1.0]"
    assert props["num_classes"] == "3" and props["conditional"] == "true"
    assert props["inputs"] == "z,label" and props["outputs"] == "image"
    assert props["latent_algorithm"] == LATENT_ALGORITHM
    assert props["export_target"] == "portable"
    unconditional = UNCONDITIONAL.to_onnx_metadata()
    assert unconditional["num_classes"] == "none" and "dataset" not in unconditional


def test_missing_facts_come_from_the_graph_ports():
    record = GeneratorRecord.from_onnx_metadata({}, {"z": ["batch", 16]}, ["batch", 8, 8, 1], source="bare.onnx")
    assert (record.latent_dim, record.image_shape, record.num_classes) == (16, (8, 8, 1), None)


@pytest.mark.parametrize(
    "properties, inputs, message",
    [
        ({"num_classes": "none"}, {"z": [None, 4], "label": [None]}, "takes labels"),
        ({"num_classes": "10"}, {"z": [None, 4]}, "has no 'label' input"),
        ({}, {"x": [None, 4]}, "no input named 'z'"),
        ({"latent_dim": "four"}, {"z": [None, 4]}, "latent_dim must be an integer"),
        ({"latent_dim": "0"}, {"z": [None, 4]}, "latent_dim must be positive"),
        ({"image_shape": "[28, 28"}, {"z": [None, 4]}, "image_shape must be a JSON list"),
        ({"image_shape": "[28, 28]"}, {"z": [None, 4]}, "Expected image_shape [H, W, C]"),
        ({}, {"z": [None, "dim"]}, "stores no latent_dim"),
        ({"num_classes": "2", "class_names": '["a"]'}, {"z": [None, 4], "label": [None]}, "one name per class"),
        ({"output_range": "[1.0, -1.0]"}, {"z": [None, 4]}, "low < high"),
    ],
)
def test_bad_or_contradicting_metadata_is_one_line_error(properties, inputs, message):
    properties = {"image_shape": "[8, 8, 1]", **properties}
    with pytest.raises(ZooError, match=None) as error:
        GeneratorRecord.from_onnx_metadata(properties, inputs, ["batch", 8, 8, 1], source="g.onnx")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "facts, message",
    [
        ({"latent_dim": 0, "image_shape": (2, 2, 1)}, "latent_dim must be a positive integer"),
        ({"latent_dim": True, "image_shape": (2, 2, 1)}, "latent_dim must be a positive integer"),
        ({"latent_dim": 4, "image_shape": (2, 2)}, "image_shape must be [H, W, C]"),
        ({"latent_dim": 4, "image_shape": (2, 2, 1), "class_names": ["a"]}, "one name per class"),
        ({"latent_dim": 4, "image_shape": (2, 2, 1), "training_steps": -1}, "non-negative"),
    ],
)
def test_the_record_checks_its_facts(facts, message):
    with pytest.raises(ZooError) as error:
        GeneratorRecord(**facts)
    assert message in str(error.value)


def test_dict_accepts_the_catalogues_old_value_range_name():
    table = {**UNCONDITIONAL.to_dict(), "value_range": [0.0, 1.0]}
    del table["output_range"]
    assert GeneratorRecord.from_dict(table).output_range == (0.0, 1.0)


def test_dict_refuses_a_foreign_layout_and_missing_facts():
    with pytest.raises(ZooError, match="image_layout must be NHWC"):
        GeneratorRecord.from_dict({**UNCONDITIONAL.to_dict(), "image_layout": "NCHW"})
    with pytest.raises(ZooError, match="has no latent_dim"):
        GeneratorRecord.from_dict({"image_shape": [2, 2, 1]}, source="manifest.json")


def test_ports_and_saved_model_signature_follow_the_record():
    ports = CONDITIONAL.io_ports()
    assert [port["name"] for port in ports["inputs"]] == ["z", "label"]
    assert ports["outputs"][0]["shape"] == ["batch", 28, 28, 1]
    assert CONDITIONAL.saved_model_signature() == [("z", "float32", (None, 64)), ("label", "int64", (None,))]
    assert UNCONDITIONAL.saved_model_signature() == [("z", "float32", (None, 8))]
    again = GeneratorRecord.from_saved_model_ports({"z": [None, 64], "label": [None]}, [None, 28, 28, 1], num_classes=3)
    assert (again.latent_dim, again.image_shape, again.num_classes) == (64, (28, 28, 1), 3)
    with pytest.raises(ZooError, match="needs num_classes"):
        GeneratorRecord.from_saved_model_ports({"z": [None, 64], "label": [None]}, [None, 28, 28, 1])


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_manifest_and_onnx_file_give_the_same_record(name):
    """Artifacts written by earlier versions read into one record, whichever copy is read."""
    import onnxruntime as ort

    folder = os.path.join(EXPORT, name)
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as file:
        manifest = json.load(file)
    from_manifest = GeneratorRecord.from_dict(manifest["model"], source=f"{name}/manifest.json")
    session = ort.InferenceSession(os.path.join(folder, "generator.onnx"), providers=["CPUExecutionProvider"])
    inputs = {port.name: list(port.shape) for port in session.get_inputs()}
    from_onnx = GeneratorRecord.from_onnx_metadata(
        session.get_modelmeta().custom_metadata_map, inputs, list(session.get_outputs()[0].shape), source=name
    )
    # The ONNX file has no parameter count; the variant is recorded in both or neither.
    assert from_onnx == from_manifest.replace(parameters=None)
    assert from_manifest.io_ports() == manifest["io"]


def test_importing_the_record_imports_nothing_heavy():
    code = (
        "import sys, zoo.record, zoo.sampling, zoo.sessions; "
        "heavy = [m for m in ('tensorflow', 'keras', 'onnx', 'onnxruntime') if m in sys.modules]; "
        "print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
