"""Test vectors stored beside an artifact, in the ONNX Model Zoo's layout.

`test_data_set_0/` holds `input_0.pb` (`z`), `input_1.pb` (`label`, conditional
models only) and `output_0.pb` (`image`): serialized `onnx.TensorProto`s whose
`name` is the graph port they belong to. Any ONNX runtime can replay them
(`onnx_test_runner`, or `load_test_vectors` below).
"""

import os

import numpy as np

from zoo.errors import ZooError

FOLDER = "test_data_set_0"


def write_test_vectors(folder, inputs, outputs):
    """Writes `{name: array}` inputs and outputs as `input_i.pb` / `output_i.pb`.

    Args:
        folder: the artifact folder; `test_data_set_0/` is created inside it.
        inputs: ordered dict of input name -> array, in the graph's port order.
        outputs: ordered dict of output name -> array.

    Returns:
        The list of written paths.
    """
    from onnx import numpy_helper

    target = os.path.join(folder, FOLDER)
    os.makedirs(target, exist_ok=True)
    written = []
    for prefix, tensors in (("input", inputs), ("output", outputs)):
        for index, (name, array) in enumerate(tensors.items()):
            path = os.path.join(target, f"{prefix}_{index}.pb")
            tensor = numpy_helper.from_array(np.ascontiguousarray(array), name=name)
            with open(path, "wb") as file:
                file.write(tensor.SerializeToString())
            written.append(path)
    return written


def load_test_vectors(folder):
    """Reads an artifact's test vectors.

    Args:
        folder: the artifact folder (holding `test_data_set_0/`), or the
            `test_data_set_0/` folder itself.

    Returns:
        `(inputs, outputs)`: two dicts of port name -> NumPy array, in file order.

    Raises:
        ZooError: naming the file that is missing or cannot be parsed.

    Example:

    >>> inputs, outputs = load_test_vectors("export/my-dcgan")
    >>> sorted(inputs), outputs["image"].shape
    (['z'], (7, 28, 28, 1))
    """
    folder = os.fspath(folder)
    target = folder if os.path.basename(folder.rstrip(os.sep)) == FOLDER else os.path.join(folder, FOLDER)
    if not os.path.isdir(target):
        raise ZooError(f"{target}: no test vectors (folder missing).")
    inputs = _read_all(target, "input")
    outputs = _read_all(target, "output")
    if not inputs or not outputs:
        raise ZooError(f"{target}: needs input_0.pb and output_0.pb.")
    return inputs, outputs


def _read_all(target, prefix):
    tensors = {}
    index = 0
    while True:
        path = os.path.join(target, f"{prefix}_{index}.pb")
        if not os.path.exists(path):
            return tensors
        name, array = _read_tensor(path)
        tensors[name] = array
        index += 1


def _read_tensor(path):
    import onnx
    from onnx import numpy_helper

    relative = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
    try:
        with open(path, "rb") as file:
            tensor = onnx.TensorProto.FromString(file.read())
        array = numpy_helper.to_array(tensor)
    except Exception as error:  # protobuf DecodeError, ValueError on bad sizes.
        raise ZooError(f"{relative}: not a valid TensorProto ({type(error).__name__}).") from error
    if not tensor.name:
        raise ZooError(f"{relative}: TensorProto has no name (expected the graph port's name).")
    return tensor.name, array
