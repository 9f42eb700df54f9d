"""`zoo.serving` runtime: OnnxGenerator, metadata, name lookup, batching, no TensorFlow.

The fixture ONNX generators are untrained cgan/dcgan (seed 0) exported once per
test process; `tests/test_serving_http.py` and `tests/test_serving_page.py`
reuse them through `fixture_models`.
"""

import asyncio
import concurrent.futures
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.images import to_uint8

_MODELS = {}


def fixture_models(tmp_path_factory):
    """`{"cgan": (folder, gan), "dcgan": (folder, gan)}`, exported once per process."""
    if not _MODELS:
        import zoo

        root = tmp_path_factory.mktemp("serving-models")
        for variant in ("cgan", "dcgan"):
            gan = zoo.create(variant, seed=0)
            folder = root / variant
            try:
                from zoo.export import export_generator
            except ImportError:
                export_with_tf2onnx(gan, folder)
            else:
                export_generator(gan, str(folder))
            _MODELS[variant] = (folder, gan)
    return _MODELS


def export_with_tf2onnx(gan, folder):
    """The ONNX interface of `zoo.export`, built directly (used if `zoo.export` is absent)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    folder.mkdir(parents=True)
    specs = [tf.TensorSpec([None, gan.latent_dim], tf.float32, name="z")]
    if gan.num_classes is not None:
        specs.append(tf.TensorSpec([None], tf.int64, name="label"))

        @tf.function(input_signature=specs)
        def function(z, label):
            return {"image": gan.generator([z, tf.cast(label, tf.int32)], training=False)}
    else:

        @tf.function(input_signature=specs)
        def function(z):
            return {"image": gan.generator(z, training=False)}

    path = str(folder / "generator.onnx")
    model, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=17)
    props = {
        "latent_dim": str(gan.latent_dim),
        "num_classes": str(gan.num_classes),
        "image_shape": json.dumps([int(d) for d in gan.generator.output_shape[1:]]),
        "variant": gan.name,
        "output_range": "[-1.0, 1.0]",
    }
    onnx.helper.set_model_props(model, props)
    onnx.save(model, path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return fixture_models(tmp_path_factory)


@pytest.fixture(scope="module")
def cgan(models):
    from zoo.serving import OnnxGenerator

    return OnnxGenerator(models["cgan"][0])


@pytest.fixture(scope="module")
def dcgan(models):
    from zoo.serving import OnnxGenerator

    return OnnxGenerator(models["dcgan"][0])


def test_import_loads_no_tensorflow(models):
    """`import zoo.serving` (and generating) pulls in neither TensorFlow nor the web stack."""
    folder = models["cgan"][0]
    code = (
        "import sys, zoo.serving\n"
        f"zoo.serving.OnnxGenerator({str(folder)!r}).generate(2, labels=1, seed=0)\n"
        "heavy = {'tensorflow', 'keras', 'tf2onnx', 'onnx', 'fastapi', 'uvicorn', 'starlette', 'torch', 'jax'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
        "import zoo.serving.app\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'tf2onnx', 'onnx'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "[]"], out


def test_metadata_is_read_from_the_onnx_file(cgan, dcgan):
    assert cgan.metadata.latent_dim == 64
    assert cgan.metadata.num_classes == 10
    assert cgan.metadata.image_shape == (28, 28, 1)
    assert cgan.metadata.variant == "cgan"
    assert cgan.metadata.output_range == (-1.0, 1.0)
    assert cgan.metadata.conditional
    assert cgan.metadata.classes == tuple(str(k) for k in range(10))
    assert dcgan.metadata.num_classes is None and dcgan.metadata.classes is None
    assert not dcgan.metadata.conditional
    as_dict = cgan.metadata.to_dict()
    assert json.loads(json.dumps(as_dict))["image_shape"] == [28, 28, 1]
    assert as_dict["name"] == "cgan"


def test_generate_matches_keras(models, cgan, dcgan):
    """A seed gives the same uint8 images as Keras' `GAN.generate` (float error may flip a rounding)."""
    for generator, labels in ((cgan, [3] * 8 + [5] * 8), (dcgan, None)):
        gan = models[generator.name][1]
        images = generator.generate(16, labels=labels, seed=7)
        assert images.shape == (16, 28, 28, 1) and images.dtype == np.uint8
        expected = to_uint8(gan.generate(16, labels=labels, seed=7))
        difference = np.abs(images.astype(int) - expected.astype(int))
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_truncation_matches_keras(models, cgan, dcgan):
    """The same seed and psi give Keras' `GAN.generate` images in onnxruntime, walks included."""
    for generator, labels in ((cgan, [3] * 4 + [5] * 4), (dcgan, None)):
        gan = models[generator.name][1]
        images = generator.generate(8, labels=labels, seed=7, truncation=0.6)
        expected = to_uint8(gan.generate(8, labels=labels, seed=7, truncation=0.6))
        difference = np.abs(images.astype(int) - expected.astype(int))
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3
        assert not np.array_equal(images, generator.generate(8, labels=labels, seed=7))
    walk = cgan.interpolate(1, 2, steps=4, labels=3, truncation=0.5)
    np.testing.assert_array_equal(walk[0], cgan.generate(1, labels=3, seed=1, truncation=0.5)[0])
    np.testing.assert_array_equal(walk[-1], cgan.generate(1, labels=3, seed=2, truncation=0.5)[0])
    with pytest.raises(ZooError, match=r"truncation must be a number in \(0, 1\]\. Received: truncation=2"):
        cgan.generate(2, labels=1, seed=0, truncation=2)
    with pytest.raises(ZooError, match="truncation must be a number"):
        dcgan.interpolate(1, 2, truncation=0)


def test_seeds_and_labels_change_the_images(cgan):
    a = cgan.generate(4, labels=3, seed=7)
    np.testing.assert_array_equal(a, cgan.generate(4, labels=[3, 3, 3, 3], seed=7))
    assert not np.array_equal(a, cgan.generate(4, labels=3, seed=8))
    assert not np.array_equal(a, cgan.generate(4, labels=4, seed=7))


def test_big_requests_are_chunked_without_changing_images(models):
    from zoo.serving import OnnxGenerator

    small = OnnxGenerator(models["cgan"][0], max_batch=7)
    labels = np.arange(50) % 10
    np.testing.assert_array_equal(small.generate(50, labels, seed=1), OnnxGenerator(models["cgan"][0]).generate(50, labels, seed=1))


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"n": 0, "labels": 1}, "positive integer"),
        ({"n": 2, "labels": [1, 2, 3]}, "one label per image"),
        ({"n": 2, "labels": 10}, "Allowed: 0..9"),
        ({"n": 2, "labels": None}, "conditional"),
        ({"n": 2, "labels": 1, "seed": "7"}, "seed must be an integer"),
    ],
)
def test_bad_arguments_raise_zoo_errors(cgan, kwargs, text):
    with pytest.raises(ZooError, match=text):
        cgan.generate(**kwargs)


def test_unconditional_model_refuses_labels(dcgan):
    with pytest.raises(ZooError, match="unconditional"):
        dcgan.generate(2, labels=1)


def test_interpolate_walks_from_seed_a_to_seed_b(cgan, dcgan):
    walk = cgan.interpolate(seed_a=1, seed_b=2, steps=8, labels=3)
    assert walk.shape == (8, 28, 28, 1) and walk.dtype == np.uint8
    np.testing.assert_array_equal(walk[0], cgan.generate(1, labels=3, seed=1)[0])
    np.testing.assert_array_equal(walk[-1], cgan.generate(1, labels=3, seed=2)[0])
    assert not np.array_equal(walk[3], walk[0])
    latents = cgan.walk(1, 2, steps=5)
    norms = np.linalg.norm(latents, axis=1)
    assert norms.min() > 0.8 * norms[[0, -1]].min()  # slerp keeps the radius (a straight line would sag)
    linear = dcgan.interpolate(1, 2, steps=3, method="linear")
    assert linear.shape == (3, 28, 28, 1)
    with pytest.raises(ZooError, match="at least 2 steps"):
        cgan.interpolate(1, 2, steps=1, labels=0)
    with pytest.raises(ZooError, match="Unknown interpolation"):
        cgan.interpolate(1, 2, method="cubic", labels=0)


def test_accepts_a_folder_a_file_and_a_pretrained_name(models, monkeypatch, tmp_path):
    from zoo.serving import OnnxGenerator, resolve

    folder = models["cgan"][0]
    assert OnnxGenerator(folder).name == "cgan"
    from_file = OnnxGenerator(folder / "generator.onnx")
    assert from_file.name == "cgan"
    renamed = tmp_path / "tiny.onnx"
    shutil.copy(folder / "generator.onnx", renamed)
    assert OnnxGenerator(renamed).name == "tiny"
    assert OnnxGenerator(renamed, name="other").name == "other"

    # Names resolve through zoo.hub (tested with a real server in test_hub.py).
    with pytest.raises(ZooError) as error:
        OnnxGenerator("cgan-fashion-mnst")
    message = str(error.value)
    assert "\n" not in message
    assert "Unknown pretrained generator 'cgan-fashion-mnst'" in message
    if "cgan-fashion-mnist" in resolve.pretrained_names():
        assert "Did you mean 'cgan-fashion-mnist'?" in message


@pytest.mark.parametrize(
    "model, text",
    [("missing/folder", "No such file or folder"), ("nothing.onnx", "No such file or folder")],
)
def test_bad_model_paths_raise_one_line_errors(model, text, tmp_path, monkeypatch):
    from zoo.serving import OnnxGenerator

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(ZooError, match=text):
        OnnxGenerator(model)
    for bad, expected in (("empty", "holds no generator.onnx"), ("notes.txt", "Expected an .onnx file"),
                          ("broken.onnx", "onnxruntime cannot open")):
        with pytest.raises(ZooError, match=expected) as error:
            OnnxGenerator(bad)
        assert "\n" not in str(error.value)


def _rewrite_metadata(source, target, props):
    import onnx

    model = onnx.load(str(source))
    del model.metadata_props[:]
    if props:
        onnx.helper.set_model_props(model, props)
    onnx.save(model, str(target))
    return target


def test_missing_metadata_is_taken_from_the_graph(models, tmp_path):
    """Without metadata an unconditional model still serves: shapes come from its ports."""
    from zoo.serving import OnnxGenerator

    bare = _rewrite_metadata(models["dcgan"][0] / "generator.onnx", tmp_path / "bare.onnx", {})
    generator = OnnxGenerator(bare)
    assert generator.latent_dim == 64 and generator.image_shape == (28, 28, 1)
    assert generator.num_classes is None and generator.metadata.variant is None
    assert generator.generate(2, seed=0).shape == (2, 28, 28, 1)


def test_class_names_and_inconsistent_metadata(models, tmp_path):
    from zoo.serving import OnnxGenerator

    source = models["cgan"][0] / "generator.onnx"
    names = [f"class {k}" for k in range(10)]
    named = _rewrite_metadata(source, tmp_path / "named.onnx", {
        "latent_dim": "64", "num_classes": "10", "class_names": json.dumps(names), "image_shape": "[28, 28, 1]"})
    assert OnnxGenerator(named).metadata.class_names == tuple(names)
    no_classes = _rewrite_metadata(source, tmp_path / "no-classes.onnx", {"latent_dim": "64", "num_classes": "None"})
    with pytest.raises(ZooError, match="takes labels but its metadata has no num_classes"):
        OnnxGenerator(no_classes)
    wrong_names = _rewrite_metadata(source, tmp_path / "wrong.onnx", {"num_classes": "10", "class_names": '["a"]'})
    with pytest.raises(ZooError, match="class_names must hold one name per class"):
        OnnxGenerator(wrong_names)
    bad_number = _rewrite_metadata(source, tmp_path / "bad.onnx", {"num_classes": "ten"})
    with pytest.raises(ZooError, match="num_classes must be an integer"):
        OnnxGenerator(bad_number)


def test_threads_share_one_session_safely(cgan):
    seeds = list(range(24))
    sequential = [cgan.generate(1 + seed % 5, labels=seed % 10, seed=seed) for seed in seeds]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        concurrent_results = list(pool.map(lambda seed: cgan.generate(1 + seed % 5, labels=seed % 10, seed=seed), seeds))
    for expected, got in zip(sequential, concurrent_results):
        np.testing.assert_array_equal(expected, got)


def test_pool_batches_small_requests_without_changing_images(cgan, dcgan):
    from zoo.serving.batching import GeneratorPool

    async def scenario():
        pool = GeneratorPool({"cgan": cgan, "dcgan": dcgan}, workers=2, batch_below=8, max_batch=16)
        await pool.start()
        try:
            jobs = []
            for seed in range(40):
                generator = cgan if seed % 3 else dcgan
                n = 1 + seed % 4
                z = generator.latents(n, seed)
                labels = generator.check_labels(seed % 10, n) if generator is cgan else None
                jobs.append((generator, z, labels))
            jobs.append((cgan, cgan.latents(20, 99), cgan.check_labels(2, 20)))  # too big to batch
            results = await asyncio.gather(*(pool.run(g.name, z, labels) for g, z, labels in jobs))
            counts = pool.calls, pool.inline_calls, pool.batched_requests
            alone = await pool.run("cgan", *jobs[4][1:])  # an idle pool runs one image inline
            assert pool.inline_calls == counts[1] + 1
            np.testing.assert_array_equal(alone, results[4])
            return jobs, results, counts
        finally:
            await pool.close()

    jobs, results, (calls, inline, batched) = asyncio.run(scenario())
    assert inline + batched == 40 and calls < 20, (calls, inline, batched)
    for (generator, z, labels), images in zip(jobs, results):
        np.testing.assert_array_equal(images, generator.run(z, labels))


def test_pool_draws_a_batch_of_latents_as_each_request_would(cgan):
    """Requests handing over seeds (`LatentDraw`) get the images of their own latents, batched or alone."""
    from zoo.serving.batching import GeneratorPool, LatentDraw

    draws = [LatentDraw(1 + seed % 3, seed, (None, 0.5, 0.8)[seed % 3]) for seed in range(12)]
    mixed = [draw if index % 4 else cgan.latents(draw.n, draw.seed, draw.truncation) for index, draw in enumerate(draws)]

    async def scenario():
        pool = GeneratorPool({"cgan": cgan}, workers=2, batch_below=8, max_batch=16)
        await pool.start()
        try:
            batched = await asyncio.gather(*(pool.run("cgan", z, cgan.check_labels(3, d.n))
                                             for z, d in zip(mixed, draws)))
            alone = await pool.run("cgan", LatentDraw(1, 99, 0.7), cgan.check_labels(4, 1))
            big = await pool.run("cgan", LatentDraw(20, 5, None), cgan.check_labels(1, 20))  # not batched
            return batched, alone, big, pool.calls, pool.inline_calls
        finally:
            await pool.close()

    batched, alone, big, calls, inline = asyncio.run(scenario())
    assert calls < len(draws) and inline == 1, (calls, inline)
    for draw, images in zip(draws, batched):
        z = cgan.latents(draw.n, draw.seed, draw.truncation)
        np.testing.assert_array_equal(images, cgan.run(z, cgan.check_labels(3, draw.n)))
    np.testing.assert_array_equal(alone, cgan.run(cgan.latents(1, 99, 0.7), cgan.check_labels(4, 1)))
    np.testing.assert_array_equal(big, cgan.run(cgan.latents(20, 5), cgan.check_labels(1, 20)))


def test_session_options_are_for_small_cpus(cgan):
    from zoo import serving
    from zoo.sessions import session_options

    options = session_options(1, spinning=False)
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert session_options(2, spinning=False).intra_op_num_threads == 2
    with pytest.raises(ZooError, match="threads must be a positive integer"):
        session_options(0)
    assert cgan.session.get_session_options().intra_op_num_threads == 1  # served: one thread per call
    # The old name still works, with a warning.
    with pytest.warns(DeprecationWarning, match="zoo.sessions.session_options"):
        old = serving.session_options()
    assert old.intra_op_num_threads == 1 and serving.session_options(2).intra_op_num_threads == 2


def test_cli_serve_reports_bad_models_in_one_line(capsys, monkeypatch, tmp_path):
    from zoo.cli import main
    from zoo.serving import resolve

    assert main(["serve", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zoo: error: Unknown pretrained generator 'no-such-model'"), err
    assert main(["serve", "x", "--port", "70000"]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


def test_pretrained_names_resolve_through_one_function(models, monkeypatch):
    """The hub can take over by replacing `find_pretrained` alone."""
    from zoo.serving import OnnxGenerator, resolve

    calls = []

    def fake_hub(name):
        calls.append(name)
        return str(models["dcgan"][0] / "generator.onnx")

    monkeypatch.setattr(resolve, "find_pretrained", fake_hub)
    generator = OnnxGenerator("dcgan-fashion-mnist")
    assert calls == ["dcgan-fashion-mnist"] and generator.name == "dcgan-fashion-mnist"


@pytest.mark.parametrize("cpus, threads, batches", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 4, 3), (64, 4, 3)])
def test_small_request_batches_leave_a_thread_for_big_ones_and_a_core_for_the_loop(monkeypatch, cpus, threads, batches):
    import os

    from zoo.serving import batching

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    pool = batching.GeneratorPool({})
    assert (pool.workers, pool.batches_at_once) == (threads, batches)
