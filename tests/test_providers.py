"""onnxruntime execution providers: chosen in `zoo.sessions`, taken by every ONNX entry point.

On this CPU-only onnxruntime the default is the CPU; the ranking of a GPU build's
providers is checked on the names it reports. Serving is checked on the real
FastAPI app (in process, `TestClient`), evaluation through the real `zoo evaluate`.
"""

import json
import os

import onnxruntime as ort
import pytest

from tests.cli_helpers import one_line_error
from zoo import sessions
from zoo.cli import main
from zoo.errors import ZooError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DCGAN = os.path.join(REPO, "export", "dcgan-fashion-mnist")
CPU = "CPUExecutionProvider"


def test_default_is_the_best_available_with_the_cpu_last():
    assert sessions.default_providers() == tuple(
        name for name in sessions.PROVIDER_PREFERENCE if name in ort.get_available_providers()
    )
    assert sessions.check_providers(None)[-1] == CPU
    assert sessions.default_providers([CPU]) == (CPU,)
    assert "AzureExecutionProvider" not in sessions.default_providers()  # reported by CPU builds, runs remotely
    gpu_build = ["AzureExecutionProvider", CPU, "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    assert sessions.default_providers(gpu_build) == ("TensorrtExecutionProvider", "CUDAExecutionProvider", CPU)
    assert sessions.default_providers(["OpenVINOExecutionProvider"]) == ("OpenVINOExecutionProvider", CPU)


def test_explicit_providers_and_one_line_errors():
    assert sessions.check_providers(CPU) == (CPU,)
    assert sessions.check_providers(f" {CPU} ,") == (CPU,)
    assert sessions.check_providers([CPU]) == (CPU,)
    with pytest.raises(ZooError) as error:
        sessions.check_providers("CUDAExecutionProvider,CPUExecutionProvider")
    text = str(error.value)
    assert "no execution provider 'CUDAExecutionProvider'" in text and "Available: " in text and CPU in text
    assert "\n" not in text
    with pytest.raises(ZooError, match="at least one"):
        sessions.check_providers("")
    with pytest.raises(ZooError, match="names"):
        sessions.check_providers([3])


def test_onnx_generator_and_sampler_run_on_the_chosen_providers():
    from zoo.sampling import Sampler
    from zoo.serving import OnnxGenerator

    default = OnnxGenerator(DCGAN)
    explicit = OnnxGenerator(DCGAN, providers=CPU)
    assert default.providers == sessions.default_providers() and explicit.providers == (CPU,)
    assert (default.generate(2, seed=1) == explicit.generate(2, seed=1)).all()
    sampler = Sampler.from_onnx(os.path.join(DCGAN, "generator.onnx"), providers=[CPU])
    assert sampler.backend.session.get_providers() == [CPU]
    with pytest.raises(ZooError, match="Available: "):
        OnnxGenerator(DCGAN, providers="TensorrtExecutionProvider")


def test_served_metadata_reports_the_providers():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from zoo.serving import OnnxGenerator
    from zoo.serving.app import create_app

    app = create_app([OnnxGenerator(DCGAN, name="dcgan", providers=[CPU])])
    with TestClient(app) as client:
        body = client.get("/v1/models/dcgan").json()
    assert body["providers"] == [CPU]


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", DCGAN, "--port", "0", "--providers", "CUDAExecutionProvider"],
        ["evaluate", DCGAN, "--n", "10", "--providers", "CUDAExecutionProvider"],
        ["sample", DCGAN, "--out", "{tmp}/grid.png", "--providers", "CUDAExecutionProvider"],
    ],
    ids=lambda argv: argv[0],
)
def test_cli_unknown_provider_is_exit_2_naming_the_available_ones(argv, tmp_path, capsys):
    line = one_line_error(capsys, [part.format(tmp=tmp_path) for part in argv])
    assert "no execution provider 'CUDAExecutionProvider'" in line and CPU in line
    assert not os.path.exists(tmp_path / "grid.png")


def test_evaluate_json_reports_the_providers(capsys):
    assert main(["evaluate", DCGAN, "--n", "100", "--batch-size", "50", "--json", "--providers", CPU]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["providers"] == [CPU]


def test_sample_takes_providers(tmp_path, capsys):
    assert main(["sample", DCGAN, "--n", "4", "--out", str(tmp_path / "g.png"), "--providers", CPU]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0
