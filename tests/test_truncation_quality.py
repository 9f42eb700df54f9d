"""Scoring a truncated generator: `evaluate(..., truncation=psi)`, `zoo evaluate --truncation`, the card's sweep."""

import json
import os

import numpy as np
import pytest

from cli_helpers import one_line_error
from zoo.cli import main
from zoo.errors import ZooError
from zoo.metrics import evaluate, truncation_sweep
from zoo.metrics.sources import ArraySource, open_source
from zoo.publish.card import render_readme
from zoo.sampling import Sampler

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT = os.path.join(REPO, "export", "mlp-gan-fashion-mnist")
CGAN_EXPORT = os.path.join(REPO, "export", "cgan-fashion-mnist")


def test_a_truncated_source_scores_the_images_generate_draws():
    source = open_source(CGAN_EXPORT).truncated(0.6)
    images, labels = next(source.batches(20, seed=3, batch_size=20))
    expected = Sampler.from_onnx(os.path.join(CGAN_EXPORT, "generator.onnx")).generate(
        20, labels=labels, seed=3, truncation=0.6
    )
    np.testing.assert_array_equal(images, expected)
    assert open_source(CGAN_EXPORT).truncation is None  # a copy: the original is untouched


def test_evaluate_records_the_truncation_and_it_changes_the_scores():
    plain = evaluate(EXPORT, n=500, seed=0)
    truncated = evaluate(EXPORT, n=500, seed=0, truncation=0.5)
    assert plain.protocol["truncation"] is None
    assert truncated.protocol["truncation"] == 0.5
    assert truncated.metrics["fd"] != pytest.approx(plain.metrics["fd"], rel=1e-3)
    assert evaluate(EXPORT, n=500, seed=0, truncation=1.0).metrics["fd"] == pytest.approx(plain.metrics["fd"], rel=1e-6)


def test_truncation_of_fixed_images_is_refused():
    images = np.zeros((10, 28, 28, 1), np.float32)
    with pytest.raises(ZooError, match="truncation applies to generators"):
        evaluate(ArraySource(images), n=10, truncation=0.5)


@pytest.mark.parametrize("value", ["0", "1.5", "nan"])
def test_zoo_evaluate_refuses_a_bad_truncation(capsys, value):
    line = one_line_error(capsys, ["evaluate", EXPORT, "--n", "10", "--truncation", value])
    assert "truncation must be a number in (0, 1]" in line


def test_zoo_evaluate_truncation_on_the_command_line(capsys):
    assert main(["evaluate", EXPORT, "--n", "300", "--truncation", "0.7", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["protocol"]["truncation"] == 0.7


def test_sweep_rows_follow_psi_and_render_in_the_card():
    sweep = truncation_sweep(EXPORT, psis=(1.0, 0.5), n=400)
    assert [row["psi"] for row in sweep["rows"]] == [0.5, 1.0]
    assert "--truncation PSI" in sweep["command"]
    # psi = 1 is the plain generator: the same figures as an untruncated evaluation.
    assert sweep["rows"][1]["fd"] == pytest.approx(evaluate(EXPORT, n=400).metrics["fd"], abs=1e-3)
    with open(os.path.join(REPO, "models", "mlp-gan-fashion-mnist", "card.json"), encoding="utf-8") as file:
        card = json.load(file)
    card["metrics"]["truncation"] = sweep
    readme = render_readme(card, {"generator.onnx": 1})
    assert "### Truncation" in readme and "![precision and recall against truncation psi](truncation.png)" in readme
    assert f"| 0.5 | {sweep['rows'][0]['fd']:.4g} |" in readme


def test_a_sweep_needs_psis_in_range():
    with pytest.raises(ZooError, match="psis must be a number in"):
        truncation_sweep(EXPORT, psis=(0.0,), n=10)
