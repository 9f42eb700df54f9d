"""The Open Inference Protocol v2 (KServe, Triton) routes of the HTTP service.

    GET  /v2/health/live, /v2/health/ready    200 while the server runs
    GET  /v2                                  {"name", "version", "extensions"}
    GET  /v2/models/{name}[/versions/1]       {"name", "versions", "platform", "inputs", "outputs"}
    GET  /v2/models/{name}[/versions/1]/ready 200 for a served model
    POST /v2/models/{name}[/versions/1]/infer inputs `z` FP32 [n, latent_dim] (and `label`
                                              INT64 [n] for a conditional model) -> output
                                              `image` FP32 [n, H, W, C] (the generator's range)

Tensors come as JSON `data` (flat or nested, row-major) or as binary data (the
`binary_tensor_data` extension: `parameters.binary_data_size` and an
`Inference-Header-Content-Length` header), and go back as JSON `data` or, when
asked (`parameters.binary_data_output`, or an output's `parameters.binary_data`,
as `tritonclient`'s default does), as little-endian bytes after the JSON header.
Errors are `{"error": "one line"}` with a 4xx status (400 bad tensor, 404 unknown
model, 413 too big, ...). The labels, the image count (`schemas.MAX_IMAGES`),
the body limits and the batching pool are the `/v1` routes' own.

Example:

>>> import tritonclient.http as triton
>>> client = triton.InferenceServerClient("127.0.0.1:8000")
>>> z = triton.InferInput("z", [1, 64], "FP32")
>>> z.set_data_from_numpy(np.zeros([1, 64], np.float32))
>>> client.infer("dcgan-fashion-mnist", [z]).as_numpy("image").shape
(1, 28, 28, 1)
"""

import json
import math

import numpy as np
from fastapi import Request
from fastapi.responses import Response

from zoo import __version__
from zoo.serving.http_errors import RequestError, clip, short, v2_error_response
from zoo.serving.schemas import MAX_IMAGES

try:  # ~25x faster for float tensors; the standard library otherwise
    import orjson
except ImportError:
    orjson = None

VERSION = "1"
EXTENSIONS = ["binary_tensor_data"]
DATATYPES = {"FP32": np.dtype("<f4"), "INT64": np.dtype("<i8")}
HEADER_LENGTH = "inference-header-content-length"


def to_json(value):
    """`value` (NumPy arrays included) as compact JSON bytes."""
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(value, separators=(",", ":"), default=lambda array: array.tolist()).encode()


def from_json(data):
    """Parses JSON bytes (`ValueError` or `RecursionError` if they are not JSON).

    What orjson refuses goes to the standard library, for its message or for
    the `NaN`/`Infinity` literals that `tritonclient` writes (refused later, by name).
    """
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:
            pass
    return json.loads(data)


class TensorError(RequestError):
    """A bad v2 request (`{"error": message}` with `status`, default 400)."""

    def __init__(self, message, status=400):
        super().__init__(status, None, message)


def model_metadata(generator):
    """The v2 model metadata of an `OnnxGenerator` (what `GET /v2/models/{name}` returns)."""
    inputs = [{"name": "z", "datatype": "FP32", "shape": [-1, generator.latent_dim]}]
    if generator.num_classes is not None:
        inputs.append({"name": "label", "datatype": "INT64", "shape": [-1]})
    return {
        "name": generator.name,
        "versions": [VERSION],
        "platform": "onnxruntime_onnx",
        "inputs": inputs,
        "outputs": [{"name": "image", "datatype": "FP32", "shape": [-1, *generator.image_shape]}],
    }


def add_open_inference_routes(app, served):
    """Adds the v2 routes over the `ServedModels` `served` to `app`.

    Returns:
        The infer handler, `infer(name, version, body, headers)` (see `make_infer`).
    """
    metadata = {name: model_metadata(generator) for name, generator in served.generators.items()}
    server = json.dumps({"name": "keras-gan-zoo", "version": __version__, "extensions": EXTENSIONS}).encode()

    def pick(name, version):
        if version is not None and version != VERSION:
            raise TensorError(f"Unknown version '{clip(version, 40)}' of model '{clip(name, 40)}'. "
                              f"Allowed: {VERSION}, or leave the version out.", 404)
        try:
            return served.pick(name)
        except RequestError as error:
            raise TensorError(error.message, error.status) from None

    def answer(handler):
        """`handler`'s JSON answer, or its `TensorError` as `{"error": ...}`."""

        async def route(request: Request):
            try:
                result = await handler(request, **request.path_params)
            except RequestError as error:
                return v2_error_response(error.status, error.message)
            if isinstance(result, Response):
                return result
            return Response(to_json(result), media_type="application/json")

        route.__name__ = handler.__name__
        return route

    async def live(request):
        return {"live": True}

    async def ready(request):
        return {"ready": True}

    async def server_metadata(request):
        return Response(server, media_type="application/json")

    async def get_model(request, name, version=None):
        return metadata[pick(name, version).name]

    async def model_ready(request, name, version=None):
        pick(name, version)
        return {"name": name, "ready": True}

    infer_body = make_infer(served, pick)

    async def infer(request, name, version=None):
        return await infer_body(name, version, await request.body(), request.headers)

    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):  # first: the busy ones
        app.add_api_route(prefix + "/infer", answer(infer), methods=["POST"], include_in_schema=False)
    gets = {"/v2/health/live": live, "/v2/health/ready": ready, "/v2": server_metadata}
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        gets[prefix] = get_model
        gets[prefix + "/ready"] = model_ready
    for path, handler in gets.items():
        app.add_api_route(path, answer(handler), methods=["GET"], include_in_schema=False)
    return infer_body


def make_infer(served, pick):
    """`infer(name, version, body, headers)`: the `Response` to a v2 infer request, or a `RequestError`.

    What `POST /v2/models/{name}[/versions/{version}]/infer` runs (and the fast
    lane, `zoo.serving.lane`, for the requests it answers itself); `pick(name,
    version)` is the generator lookup, a 404 `TensorError` if unknown.
    """

    async def infer(name, version, body, headers):
        generator = pick(name, version)
        request_id, z, labels, binary = parse_infer_request(body, headers, generator)
        labels = checked_labels(served, generator, labels, len(z))
        pool = served.pool
        images = await pool.run(generator.name, z, labels)
        encode = InferResponse(generator.name, request_id, binary)
        content, headers = await pool.call(encode, images) if len(z) > pool.batch_below else encode(images)
        media_type = "application/octet-stream" if headers else "application/json"
        return Response(content, media_type=media_type, headers=headers)

    return infer


def parse_infer_request(body, headers, generator):
    """`(id, z, labels, binary_output)` of a v2 infer body for `generator`, or a `TensorError`.

    `z` is float32 `[n, latent_dim]` (finite), `labels` the `label` tensor's
    int64 values (`None` if not sent; their range is checked by the caller).
    """
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise TensorError(f"Compressed requests are not supported. Received: Content-Encoding="
                          f"{clip(headers['content-encoding'], 40)}. Allowed: an uncompressed body.", 415)
    header, binary = split_body(body, headers.get(HEADER_LENGTH))
    try:
        request = from_json(header)
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "it cannot be parsed"
        raise TensorError(f"The body is not valid JSON: {reason}. Allowed: a v2 inference request "
                          '{"inputs": [{"name": "z", "shape": [n, latent_dim], "datatype": "FP32", "data": [...]}]}.')
    if not isinstance(request, dict):
        raise TensorError(f"The body must be a JSON object. Received: {short(request)}.")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise TensorError(f"'inputs' must be a non-empty list of tensors. Received: inputs={short(inputs)}.")
    allowed = ["z"] if generator.num_classes is None else ["z", "label"]
    tensors, offset = {}, 0
    for tensor in inputs:
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if name not in allowed:
            hint = " (it is unconditional)" if name == "label" else ""
            raise TensorError(f"Unknown input {short(name)} for model '{generator.name}'{hint}. "
                              f"Allowed inputs: {', '.join(allowed)}.")
        if name in tensors:
            raise TensorError(f"Input '{name}' is given twice. Allowed: each input once.")
        tensors[name], offset = read_tensor(tensor, binary, offset)
    if offset != len(binary):
        raise TensorError(f"The body has {len(binary) - offset} bytes after its tensors' binary data. "
                          "Allowed: exactly the binary_data_size of each binary input.")
    for name in allowed:
        if name not in tensors:
            raise TensorError(f"Missing input '{name}' for model '{generator.name}'. Allowed inputs: "
                              f"{', '.join(allowed)}; see GET /v2/models/{generator.name}.")
    z = tensors["z"]
    if z.ndim != 2 or z.shape[1] != generator.latent_dim or not 1 <= z.shape[0] <= MAX_IMAGES:
        raise TensorError(f"Invalid shape of input 'z'. Received: {list(z.shape)}. "
                          f"Allowed: [n, {generator.latent_dim}] with n in 1..{MAX_IMAGES}.")
    if not np.isfinite(z).all():
        raise TensorError("Invalid input 'z': it has NaN or infinite values. Allowed: finite numbers.")
    labels = tensors.get("label")
    if labels is not None and labels.shape != (len(z),):
        raise TensorError(f"Invalid shape of input 'label'. Received: {list(labels.shape)}. "
                          f"Allowed: [{len(z)}] (one per row of z).")
    return request.get("id"), z, labels, wants_binary(request)


def split_body(body, header_length):
    """`(json_header, binary_part)` of a body, by its `Inference-Header-Content-Length`."""
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        length = -1
    if not 0 <= length <= len(body):
        raise TensorError(f"Invalid Inference-Header-Content-Length. Received: {clip(header_length, 40)}. "
                          f"Allowed: the JSON header's length in bytes, at most the body's ({len(body)}).")
    return body[:length], body[length:]


def read_tensor(tensor, binary, offset):
    """`(array, next_offset)` of one input tensor (JSON data or `binary[offset:]`)."""
    name, datatype, shape = tensor["name"], tensor.get("datatype"), tensor.get("shape")
    expected = "FP32" if name == "z" else "INT64"
    if datatype != expected:
        raise TensorError(f"Invalid datatype of input '{name}'. Received: {short(datatype)}. Allowed: {expected}.")
    if (not isinstance(shape, list) or not shape or len(shape) > 4
            or not all(isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= 2**31 for size in shape)):
        raise TensorError(f"Invalid shape of input '{name}'. Received: {short(shape)}. "
                          "Allowed: a list of non-negative integers, e.g. [1, 64].")
    count = math.prod(shape)
    if count > MAX_IMAGES * 4096:
        raise TensorError(f"Input '{name}' is too large. Received: shape {shape}.", 413)
    dtype = DATATYPES[datatype]
    parameters = tensor.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        exact = isinstance(size, int) and not isinstance(size, bool)
        if not exact or size != count * dtype.itemsize or offset + size > len(binary):
            raise TensorError(f"Invalid binary_data_size of input '{name}'. Received: {short(size)}. "
                              f"Allowed: {count * dtype.itemsize} (shape {shape} of {datatype}), "
                              "with that many bytes after the JSON header.")
        array = np.frombuffer(binary, dtype, count, offset).reshape(shape)
        return array.astype(dtype.newbyteorder("="), copy=True), offset + size
    values = flatten(tensor.get("data"), name, float if name == "z" else int)
    if len(values) != count:
        raise TensorError(f"Input '{name}' has {len(values)} values for shape {shape}. "
                          f"Allowed: {count} values (row-major, flat or nested).")
    with np.errstate(over="ignore"):
        try:
            array = np.array(values, dtype=dtype.newbyteorder("="))
        except OverflowError:
            raise TensorError(f"Invalid input '{name}': a value is out of range. Allowed: {datatype} values.") from None
    return array.reshape(shape), offset


def flatten(data, name, kind, depth=0):
    """The numbers of JSON `data` in row-major order (nested lists allowed), checked to be of `kind`."""
    if not isinstance(data, list):
        raise TensorError(f"Invalid data of input '{name}'. Received: {short(data)}. "
                          "Allowed: a list of numbers, or binary data (parameters.binary_data_size).")
    values = []
    for item in data:
        if isinstance(item, list):
            if depth >= 4:
                raise TensorError(f"Invalid data of input '{name}': it nests too deeply. Allowed: a flat list.")
            values.extend(flatten(item, name, kind, depth + 1))
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float) if kind is float else int):
            allowed = "numbers" if kind is float else "integers"
            raise TensorError(f"Invalid data of input '{name}'. Received: a value {short(item)}. Allowed: {allowed}.")
        values.append(item)
    return values


def checked_labels(served, generator, labels, n):
    """int64 labels `[n]` of a conditional model (the `/v1` range check), else `None`."""
    if generator.num_classes is None:
        return None
    try:
        return served.labels_for(generator, labels.tolist(), n)
    except RequestError as error:
        raise TensorError(f"Invalid input 'label': {error.message}") from None


def wants_binary(request):
    """Whether the `image` output goes back as binary data (else JSON `data`)."""
    parameters = request.get("parameters")
    binary = bool(parameters.get("binary_data_output", False)) if isinstance(parameters, dict) else False
    outputs = request.get("outputs")
    if outputs is None:
        return binary
    if not isinstance(outputs, list):
        raise TensorError(f"'outputs' must be a list. Received: outputs={short(outputs)}.")
    for output in outputs:
        name = output.get("name") if isinstance(output, dict) else None
        if name != "image":
            raise TensorError(f"Unknown output {short(name)}. Allowed outputs: image.")
        parameters = output.get("parameters")
        if isinstance(parameters, dict) and "binary_data" in parameters:
            binary = bool(parameters["binary_data"])
    return binary


class InferResponse:
    """Float32 images -> `(body, headers)` of a v2 infer response (run on the pool for big batches)."""

    def __init__(self, model, request_id, binary):
        self.model, self.request_id, self.binary = model, request_id, binary

    def __call__(self, images):
        output = {"name": "image", "datatype": "FP32", "shape": list(images.shape)}
        response = {"model_name": self.model, "model_version": VERSION}
        if self.request_id is not None:
            response["id"] = self.request_id
        response["outputs"] = [output]
        if not self.binary:
            output["data"] = np.ascontiguousarray(images, np.float32).ravel()
            return to_json(response), None
        data = np.ascontiguousarray(images, dtype="<f4").tobytes()
        output["parameters"] = {"binary_data_size": len(data)}
        header = to_json(response)
        return header + data, {"Inference-Header-Content-Length": str(len(header))}
