"""ONNX export targets: which operators a generator's graph may use, as data.

An inference app runs `generator.onnx` wherever apps run, so the default target,
`"portable"`, allows only the operators (in opset 17) that every runtime in
`RUNTIMES` loads and runs: onnxruntime on CPU and in the browser (wasm and
WebGPU), OpenVINO, OpenCV DNN, tract, TensorRT's ONNX parser and onnx2torch.
`OPERATORS` is that fact, one entry per operator: the runtimes that *lack* it
(an empty tuple means every runtime runs it). The test suite keeps it true: its
compatibility matrix (`tests/test_portability.py`) runs every variant's export
and every published generator in each runtime it can install.

`"onnxruntime"` is a runtime-tuned graph (opset 18, `Col2Im` for the last
interleave, a few percent faster in onnxruntime's CPU kernels). It is exported
only when asked for (`zoo export --target onnxruntime`), is recorded as such in
the manifest and the ONNX metadata, and is never published.

Example:

>>> from zoo.export.targets import get_target
>>> target = get_target("portable")
>>> target.opset, target.col2im
(17, False)
>>> check_graph(model, target)  # ZooError naming an operator outside the set
"""

import dataclasses

from zoo.errors import ZooError

# Runtime ids and how users know them.
RUNTIMES = {
    "onnxruntime": "onnxruntime (CPU)",
    "onnxruntime-web-wasm": "onnxruntime-web (wasm)",
    "onnxruntime-web-webgpu": "onnxruntime-web (WebGPU)",
    "openvino": "OpenVINO",
    "opencv": "OpenCV DNN",
    "tract": "tract",
    "tensorrt": "TensorRT's ONNX parser",
    "onnx2torch": "onnx2torch (PyTorch)",
}

# {operator: runtimes that lack it}. Operators absent from this table are not
# known to run everywhere and fail a portable export. Sources: the compatibility
# matrix of this project's tests (every runtime but TensorRT) and, for TensorRT,
# the operator table of onnx/onnx-tensorrt `docs/operators.md` (TensorRT 10: opsets
# 9 to 20, Col2Im "N", `axes` of ReduceSum/Slice/Unsqueeze only as initializers).
OPERATORS = {
    "Add": (),
    "Cast": (),
    "Concat": (),
    "Conv": (),
    "DepthToSpace": (),  # mode="CRD" only: see MODE_RESTRICTIONS
    "Gather": (),
    "Gemm": (),
    "Greater": (),
    "Identity": (),
    "LeakyRelu": (),
    "Less": (),
    "MatMul": (),
    "Mul": (),
    "Not": (),
    "ReduceSum": (),
    "Relu": (),
    "Reshape": (),
    "Sigmoid": (),
    "Slice": (),
    "Sub": (),
    "Tanh": (),
    "Transpose": (),
    "Unsqueeze": (),
    # Outside the portable set, kept here so that the error names who lacks it. (onnxruntime-web's
    # WebGPU provider has no Col2Im kernel: it runs the op on the CPU, with copies both ways.)
    "Col2Im": ("onnxruntime-web-webgpu", "opencv", "tract", "tensorrt", "onnx2torch"),
}

# {(operator, attribute): (allowed values, runtimes that lack the others)}.
MODE_RESTRICTIONS = {
    ("DepthToSpace", "mode"): ((b"CRD",), ("onnx2torch",)),
}

# {operator: (positions of inputs that must be initializers, runtimes that need it)}:
# TensorRT's parser takes `axes` (and Slice's bounds) only as constants.
CONSTANT_INPUTS = {
    "ReduceSum": ((1,), ("tensorrt",)),
    "Slice": ((1, 2, 3, 4), ("tensorrt",)),
    "Unsqueeze": ((1,), ("tensorrt",)),
}


@dataclasses.dataclass(frozen=True)
class Target:
    """An ONNX export target.

    Attributes:
        name: `"portable"` or `"onnxruntime"`.
        opset: the ONNX opset of the export.
        col2im: whether the last interleave uses `Col2Im` (opset 18).
        operators: the allowed operators, or `None` for any that
            `onnx.checker` accepts.
        summary: one sentence for `zoo export --help` and the model card.
    """

    name: str
    opset: int
    col2im: bool
    operators: frozenset = None
    summary: str = ""

    @property
    def portable(self):
        return self.operators is not None


PORTABLE = Target(
    name="portable",
    opset=17,
    col2im=False,
    operators=frozenset(op for op, lacking in OPERATORS.items() if not lacking),
    summary=(
        "opset 17 and only operators that onnxruntime (CPU, wasm, WebGPU), OpenVINO, OpenCV DNN, "
        "tract, TensorRT and onnx2torch all run"
    ),
)
ONNXRUNTIME = Target(
    name="onnxruntime",
    opset=18,
    col2im=True,
    operators=None,
    summary="tuned for onnxruntime's CPU kernels (opset 18, Col2Im); other runtimes may not load it",
)
TARGETS = {target.name: target for target in (PORTABLE, ONNXRUNTIME)}
DEFAULT_TARGET = PORTABLE.name


def get_target(name):
    """Returns the `Target` called `name`; a one-line `ZooError` for an unknown one."""
    if isinstance(name, Target):
        return name
    if name not in TARGETS:
        raise ZooError(
            f"Unknown export target {name!r}. Received: target={name!r}. Available: "
            f"{', '.join(TARGETS)} (default {DEFAULT_TARGET})."
        )
    return TARGETS[name]


def graph_problems(model, target):
    """Lists what in `model` is outside `target`: one line per operator (or attribute value).

    Args:
        model: an `onnx.ModelProto`.
        target: a `Target` or its name.

    Returns:
        A list of strings, empty when the graph fits the target.
    """
    from onnx import helper

    target = get_target(target)
    if not target.portable:
        return []
    problems = []
    from zoo.export.onnx_export import opset_version

    opset = opset_version(model)
    if opset > target.opset:
        problems.append(f"opset {opset} (the {target.name} target is opset {target.opset})")
    seen = set()
    constants = {tensor.name for tensor in model.graph.initializer}
    constants |= {node.output[0] for node in model.graph.node if node.op_type == "Constant"}
    for node in _all_nodes(model.graph):
        if node.domain not in ("", "ai.onnx"):
            key = f"{node.domain}.{node.op_type}"
            if key not in seen:
                seen.add(key)
                problems.append(f"{key} (a custom-domain operator, which no runtime but onnxruntime knows)")
            continue
        if node.op_type not in target.operators:
            if node.op_type not in seen:
                seen.add(node.op_type)
                lacking = OPERATORS.get(node.op_type)
                who = ", ".join(RUNTIMES[r] for r in lacking) if lacking else "runtimes not checked for it"
                problems.append(f"{node.op_type} (lacking in: {who})")
            continue
        constant_positions, needing = CONSTANT_INPUTS.get(node.op_type, ((), ()))
        for position in constant_positions:
            if position < len(node.input) and node.input[position] and node.input[position] not in constants:
                key = (node.op_type, "constant", position)
                if key not in seen:
                    seen.add(key)
                    problems.append(
                        f"{node.op_type} with a computed input {position} "
                        f"(lacking in: {', '.join(RUNTIMES[r] for r in needing)}, which need a constant)"
                    )
        for attribute in node.attribute:
            restriction = MODE_RESTRICTIONS.get((node.op_type, attribute.name))
            if restriction is None:
                continue
            allowed, lacking = restriction
            value = helper.get_attribute_value(attribute)
            key = (node.op_type, attribute.name, value)
            if value not in allowed and key not in seen:
                seen.add(key)
                problems.append(
                    f"{node.op_type} {attribute.name}={value.decode() if isinstance(value, bytes) else value} "
                    f"(lacking in: {', '.join(RUNTIMES[r] for r in lacking)})"
                )
    return problems


def check_graph(model, target):
    """Raises a one-line `ZooError` when `model` uses anything outside `target`.

    Example:

    >>> check_graph(model, "portable")
    ZooError: The portable ONNX graph may not use Col2Im (lacking in: OpenCV DNN, ...). ...
    """
    problems = graph_problems(model, target)
    if problems:
        target = get_target(target)
        raise ZooError(
            f"The {target.name} ONNX graph may not use {'; '.join(problems)}. "
            "Nothing was written. Keep the generator to layers the zoo exports portably, or pass "
            "--target onnxruntime (target='onnxruntime') for a graph that only onnxruntime must run."
        )


def _all_nodes(graph):
    from onnx import helper

    for node in graph.node:
        yield node
        for attribute in node.attribute:
            value = helper.get_attribute_value(attribute)
            subgraphs = value if isinstance(value, list) else [value]
            for subgraph in subgraphs:
                if hasattr(subgraph, "node"):
                    yield from _all_nodes(subgraph)
