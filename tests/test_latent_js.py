"""The web page's JavaScript (zoo/serving/static/*.js) against the Python it mirrors, run in Node.

The bulk check of latent.js: for 500 small seeds, large seeds up to 2**63 - 1 and
beyond, long streams and odd sizes (about 3 million values), the float32 values
equal `zoo.latent.sample_latent` bit for bit, also truncated (`psi` from 2**-30 to 1,
decimal fractions with no exact double among them); its logarithm, sine and cosine equal
zoo.latent's to the last double bit. Node comes from the system (`node`); the test
is skipped without it, except in CI.
"""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from zoo import latent
from zoo.images import make_grid, to_uint8
from zoo.errors import ZooError
from zoo.latent import sample_latent

ROOT = pathlib.Path(__file__).resolve().parents[1]
JS = ROOT / "tests" / "js"
NODE = shutil.which("node")
if NODE is None and not os.environ.get("CI"):
    pytest.skip("node is missing (apt-get install nodejs)", allow_module_level=True)


def node(script, request, binary=False):
    result = subprocess.run(
        [NODE, str(JS / script)], input=json.dumps(request).encode(), capture_output=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr.decode()
    return result if binary else json.loads(result.stdout)


def js_latents(requests):
    """`[(seed, n, d[, truncation]), ...]` -> (list of float32 [n, d] arrays, stats)."""
    requests = [(*request, None)[:4] for request in requests]
    result = node("latent_draws.mjs", {"requests": [[str(s), n, d, psi] for s, n, d, psi in requests]}, binary=True)
    values = np.frombuffer(result.stdout, dtype="<f4")
    stats = json.loads(result.stderr.decode().strip().splitlines()[-1])
    arrays, start = [], 0
    for _, n, d, _ in requests:
        arrays.append(values[start:start + n * d].reshape(n, d))
        start += n * d
    assert start == len(values)
    return arrays, stats


def bits(array, dtype=np.float32):
    return np.ascontiguousarray(array, dtype=dtype).view(np.uint32 if dtype == np.float32 else np.uint64)


def test_js_latents_equal_python_bit_for_bit():
    large = [2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**53 + 1, 2**62, 2**63 - 1, 2**64 + 5, 10**30, 2**200 + 12345]
    requests = [(seed, 1, 64) for seed in range(500)]
    requests += [(seed, 2, 64) for seed in large]
    requests += [(seed, 4096, 64) for seed in (0, 1, 7, 42, 123456789, 2**32, 2**53 - 1, 2**63 - 1)]
    requests += [(3, 5, 99), (4, 7, 1), (5, 1, 3)]  # odd sizes: the last pair's second value is dropped
    arrays, stats = js_latents(requests)
    mismatches = [
        (seed, n, d, int(np.sum(bits(got) != bits(sample_latent(n, d, seed)))))
        for (seed, n, d), got in zip(requests, arrays)
    ]
    assert [m for m in mismatches if m[3]] == []
    assert stats["draws"] > 2_000_000
    # The streams reach far into the tails (|z| > 5 about once in 1.7 million values).
    assert max(float(np.max(np.abs(a))) for a in arrays) > 5


TRUNCATIONS = [1.0, 1, 0.999, 0.7, 0.5, 0.3, 1 / 3, 0.1, 1e-3, 2.0**-30]


def test_truncated_js_latents_equal_python_bit_for_bit():
    """psi * z in float64, then one rounding to float32: the same bits in Node as in NumPy."""
    requests = [(seed, 64, 64, psi) for psi in TRUNCATIONS for seed in (0, 7, 2**63 - 1)]
    requests += [(seed, 1, 64, 0.7) for seed in range(100)] + [(3, 5, 99, 0.7)]
    arrays, _ = js_latents(requests)
    mismatches = [
        (seed, n, d, psi, int(np.sum(bits(got) != bits(sample_latent(n, d, seed, truncation=psi)))))
        for (seed, n, d, psi), got in zip(requests, arrays)
    ]
    assert [m for m in mismatches if m[4]] == []
    # psi = 1 is no truncation: the very bits of the plain draw.
    np.testing.assert_array_equal(bits(arrays[0]), bits(sample_latent(64, 64, 0)))
    # Rounding z to float32 first and then scaling would give other bits: the order is part of the draw.
    z = sample_latent(64, 64, 7).astype(np.float64)
    scaled_late = sample_latent(64, 64, 7, truncation=0.7)
    assert np.any(bits(np.float32(z) * np.float32(0.7)) != bits(scaled_late))


def test_prefix_property_a_seed_gives_one_stream():
    """The first values of a seed do not depend on how many are drawn (the page draws n at a time)."""
    np.testing.assert_array_equal(sample_latent(3, 5, 11).ravel(), sample_latent(1, 15, 11).ravel())
    np.testing.assert_array_equal(sample_latent(4, 7, 11).ravel()[:21], sample_latent(3, 7, 11).ravel())


def test_draws_together_equal_draws_alone():
    """`sample_latents` (a server batch) gives each draw's own bits, odd sizes and truncation included."""
    draws = [(1 + seed % 3, seed * 7, (None, 0.5, 0.9, 1.0)[seed % 4]) for seed in range(20)]
    for latent_dim in (33, 64):
        together = latent.sample_latents(draws, latent_dim)
        alone = np.concatenate([sample_latent(n, latent_dim, seed, truncation=psi) for n, seed, psi in draws])
        np.testing.assert_array_equal(bits(together, np.float32), bits(alone, np.float32))
    with pytest.raises(ZooError, match="Nothing to draw"):
        latent.sample_latents([], 8)
    with pytest.raises(ZooError, match="truncation must be a number"):
        latent.sample_latents([(1, 0, None), (1, 0, 2.0)], 8)


def test_log_sin_cos_equal_python_and_are_accurate():
    rng = np.random.default_rng(5)
    uniforms = np.concatenate([
        rng.random(20_000), [2.0**-53, 1.0, 0.5, 0.25, 0.75, 1 - 2.0**-53, np.sqrt(0.5), np.nextafter(np.sqrt(0.5), 0)],
    ])
    uniforms = uniforms[uniforms > 0]
    angles = uniforms % 1.0
    request = {"call": "math", "uniforms": uniforms.tolist(), "angles": angles.tolist()}
    got = np.frombuffer(node("page_functions.mjs", request, binary=True).stdout, dtype="<f8").reshape(-1, 3)
    python_log, python_cos, python_sin = latent._log_cos_sin(uniforms, angles)
    np.testing.assert_array_equal(bits(got[:, 0], np.float64), bits(python_log, np.float64))
    np.testing.assert_array_equal(bits(got[:, 1], np.float64), bits(python_cos, np.float64))
    np.testing.assert_array_equal(bits(got[:, 2], np.float64), bits(python_sin, np.float64))
    np.testing.assert_allclose(python_log, np.log(uniforms), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(python_cos, np.cos(2 * np.pi * angles), atol=2e-15)
    np.testing.assert_allclose(python_sin, np.sin(2 * np.pi * angles), atol=2e-15)


def test_coefficients_are_the_doubles_nearest_their_definitions():
    import math

    assert latent._ATANH == tuple(1 / (2 * k + 1) for k in range(1, 12))
    assert latent._SIN == tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(1, 12))
    assert latent._COS == tuple((-1) ** k / math.factorial(2 * k) for k in range(1, 13))
    text = (ROOT / "zoo" / "serving" / "static" / "latent.js").read_text()
    for name, values in (("ATANH", latent._ATANH), ("SIN", latent._SIN), ("COS", latent._COS)):
        block = text.split(f"const {name} = [", 1)[1].split("];", 1)[0]
        assert tuple(float(v) for v in block.replace("\n", " ").split(",") if v.strip()) == values, name


def test_the_draw_is_standard_normal():
    from scipy import stats

    z = sample_latent(4096, 64, 0).ravel().astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert stats.normaltest(z).pvalue > 1e-3


def test_onnx_metadata_reader_matches_onnxruntime(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from zoo.serving import OnnxGenerator

    files = sorted((ROOT / "export").glob("*/generator.onnx"))
    # A small conditional graph whose metadata has non-ASCII text and a late duplicate key.
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 1, 3])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["z", "shape"], ["image"])], "tiny", [z, label], [image],
        initializer=[helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    props = {"latent_dim": "3", "num_classes": "2", "image_shape": "[1, 1, 3]", "class_names": '["chat", "Ünïcode ✓"]'}
    helper.set_model_props(model, props)
    model.metadata_props.add(key="variant", value="first")
    model.metadata_props.add(key="variant", value="tiny")
    tiny = tmp_path / "tiny.onnx"
    onnx.save(model, tiny)
    files.append(tiny)
    results = node("page_functions.mjs", {"call": "metadata", "files": [[str(path), path.parent.name] for path in files]})
    for path, result in zip(files, results):
        assert "error" not in result, (path, result)
        generator = OnnxGenerator(path, name=path.parent.name)
        assert result["info"]["properties"] == dict(generator.session.get_modelmeta().custom_metadata_map)
        assert result["metadata"] == generator.metadata.to_dict()
    assert results[-1]["metadata"]["class_names"] == ["chat", "Ünïcode ✓"] and results[-1]["metadata"]["variant"] == "tiny"

    (tmp_path / "broken.onnx").write_bytes(tiny.read_bytes()[:-7])
    (tmp_path / "bad.onnx").write_bytes(b"\x72\x03abc")  # field 14, length 3... then nothing sensible
    files = [[str(tmp_path / "broken.onnx"), "x"], [str(tmp_path / "bad.onnx"), "x"]]
    errors = node("page_functions.mjs", {"call": "metadata", "files": files})
    assert [result.get("error", "")[:16] for result in errors] == ["not an ONNX file"] * 2, errors


def test_pixels_and_grids_equal_zoo_images():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.uniform(-1.2, 1.2, 4000).astype(np.float32),
        (np.arange(-2, 258, dtype=np.float32) + 0.5) / np.float32(127.5) - np.float32(1.0),  # near ties
        np.float32([-1, 1, 0, -0.0, 1e-8, -1e-8, 2, -2]),
    ])
    got = node("page_functions.mjs", {"call": "uint8", "values": values.tolist(), "range": [-1, 1]})
    np.testing.assert_array_equal(np.uint8(got), to_uint8(values))
    # Another output range, as the Sampler behind OnnxGenerator converts it.
    from zoo.record import GeneratorRecord
    from zoo.sampling import Sampler

    zero_one = Sampler(None, GeneratorRecord(latent_dim=1, image_shape=(1, 1, 1), output_range=(0.0, 1.0)))
    got = node("page_functions.mjs", {"call": "uint8", "values": values.tolist(), "range": [0, 1]})
    np.testing.assert_array_equal(np.uint8(got), zero_one.to_uint8(values))

    for n, channels, columns, padding in [(5, 1, None, 2), (16, 3, None, 2), (7, 1, 7, 0)]:
        images = rng.integers(0, 256, (n, 4, 3, channels), dtype=np.uint8)
        grid = node("page_functions.mjs", {
            "call": "grid", "pixels": images.ravel().tolist(), "shape": list(images.shape),
            "columns": columns, "padding": padding,
        })
        expected = make_grid(images, columns=columns, padding=padding)
        rgba = np.uint8(grid["rgba"]).reshape(grid["height"], grid["width"], 4)
        assert rgba.shape[:2] == expected.shape[:2] and np.all(rgba[..., 3] == 255)
        rgb = np.broadcast_to(expected, (*expected.shape[:2], 3)) if channels == 1 else expected
        np.testing.assert_array_equal(rgba[..., :3], rgb)


def test_walk_latents_match_the_sampler_walk():
    """`Sampler.walk` (what `OnnxGenerator.walk` and the server run) equals the page's walk."""
    from zoo.record import GeneratorRecord
    from zoo.sampling import Sampler

    walker = Sampler(None, GeneratorRecord(latent_dim=64, image_shape=(1, 1, 1)))
    for method, steps, psi in [("slerp", 8, None), ("linear", 5, None), ("slerp", 2, None), ("slerp", 8, 0.7)]:
        expected = walker.walk(1, 2, steps=steps, method=method, truncation=psi)
        a, b = (sample_latent(1, 64, seed, truncation=psi)[0].tolist() for seed in (1, 2))
        got = node("page_functions.mjs", {"call": "walk", "a": a, "b": b, "steps": steps, "method": method})
        got = np.float32(got).reshape(steps, 64)
        np.testing.assert_array_equal(bits(got[[0, -1]]), bits(expected[[0, -1]]))
        # The path is double-precision trigonometry (libm vs V8): equal to the last float32 bit here.
        np.testing.assert_array_equal(bits(got), bits(expected))
