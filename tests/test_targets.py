"""ONNX export targets: the portable operator set is data, and every export is checked against it."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from cli_helpers import one_line_error
from zoo.cli import main
from zoo.errors import ZooError
from zoo.export.targets import OPERATORS, PORTABLE, RUNTIMES, TARGETS, check_graph, get_target, graph_problems


def graph_with(nodes, opset=17, inputs=("x",)):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 4, 2, 2]) for name in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_every_operator_names_only_known_runtimes():
    for op, lacking in OPERATORS.items():
        assert set(lacking) <= set(RUNTIMES), op
    assert PORTABLE.operators == {op for op, lacking in OPERATORS.items() if not lacking}
    assert "Col2Im" not in PORTABLE.operators and "Conv" in PORTABLE.operators


def test_a_portable_graph_passes():
    model = graph_with([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode="CRD")])
    assert graph_problems(model, "portable") == []
    check_graph(model, "portable")


def test_col2im_is_refused_naming_the_runtimes_that_lack_it():
    model = graph_with([helper.make_node("Col2Im", ["x", "x", "x"], ["y"])], opset=18)
    with pytest.raises(ZooError) as error:
        check_graph(model, "portable")
    message = str(error.value)
    assert "\n" not in message
    assert "Col2Im (lacking in: onnxruntime-web (WebGPU), OpenCV DNN, tract, TensorRT's ONNX parser" in message
    assert "opset 18 (the portable target is opset 17)" in message
    assert "--target onnxruntime" in message
    # The onnxruntime target takes any operator onnx.checker accepts.
    assert graph_problems(model, "onnxruntime") == []


def test_dcr_depth_to_space_and_unknown_or_custom_ops_are_refused():
    model = graph_with([
        helper.make_node("DepthToSpace", ["x"], ["a"], blocksize=2, mode="DCR"),
        helper.make_node("Resize", ["a"], ["b"]),
        helper.make_node("FusedConv", ["b"], ["y"], domain="com.microsoft"),
    ])
    problems = graph_problems(model, "portable")
    assert problems == [
        "DepthToSpace mode=DCR (lacking in: onnx2torch (PyTorch))",
        "Resize (lacking in: runtimes not checked for it)",
        "com.microsoft.FusedConv (a custom-domain operator, which no runtime but onnxruntime knows)",
    ]


def test_computed_axes_are_refused_for_tensorrt():
    model = graph_with([
        helper.make_node("Relu", ["axes_source"], ["axes"]),
        helper.make_node("ReduceSum", ["x", "axes"], ["y"]),
    ], inputs=("x", "axes_source"))
    assert graph_problems(model, "portable") == [
        "ReduceSum with a computed input 1 (lacking in: TensorRT's ONNX parser, which need a constant)"
    ]
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([1], np.int64), "axes"))
    del model.graph.node[0]
    assert graph_problems(model, "portable") == []


def test_operators_inside_subgraphs_are_checked():
    body = helper.make_graph(
        [helper.make_node("Col2Im", ["x", "x", "x"], ["y"])], "body", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = graph_with([helper.make_node("If", ["x"], ["y"], then_branch=body, else_branch=body)])
    assert any(problem.startswith("If ") for problem in graph_problems(model, "portable"))
    assert any(problem.startswith("Col2Im ") for problem in graph_problems(model, "portable"))


def test_unknown_target_is_one_line():
    with pytest.raises(ZooError, match="Unknown export target 'fast'.*Available: portable, onnxruntime"):
        get_target("fast")
    assert set(TARGETS) == {"portable", "onnxruntime"}


def test_cli_unknown_target_is_exit_2_before_loading(capsys, tmp_path):
    line = one_line_error(capsys, ["export", str(tmp_path / "missing.keras"), "--out", str(tmp_path / "o"),
                                   "--target", "tensorrt"])
    assert "Unknown export target 'tensorrt'" in line
    line = one_line_error(capsys, ["export", str(tmp_path / "missing.keras"), "--out", str(tmp_path / "o"),
                                   "--opset", "18"])
    assert "portable target is opset 17" in line
    assert not os.path.exists(tmp_path / "o")


def test_a_generator_outside_the_portable_set_fails_export_and_leaves_nothing(capsys, tmp_path):
    import keras

    z = keras.Input((8,), name="z")
    x = keras.layers.Dense(7 * 7 * 4)(z)
    x = keras.layers.Reshape((7, 7, 4))(x)
    x = keras.layers.UpSampling2D(4, interpolation="bilinear")(x)  # a bilinear Resize: not in the portable set
    image = keras.layers.Conv2D(1, 3, padding="same", activation="tanh", name="image")(x)
    generator = keras.Model(z, image, name="bilinear_generator")
    path = tmp_path / "generator.keras"
    generator.save(path)
    out = tmp_path / "export"
    line = one_line_error(capsys, ["export", str(path), "--out", str(out)])
    assert "The portable ONNX graph may not use Resize" in line and "Nothing was written" in line
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["generator.keras"]  # no temporary folder left behind
    # The runtime-tuned target exports it, and records that it is not portable.
    assert main(["export", str(path), "--out", str(out), "--target", "onnxruntime"]) == 0
    metadata = {p.key: p.value for p in onnx.load(str(out / "generator.onnx")).metadata_props}
    assert metadata["export_target"] == "onnxruntime"
    assert "Resize" in {node.op_type for node in onnx.load(str(out / "generator.onnx")).graph.node}
