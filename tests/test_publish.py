"""Tests of `zoo.publish`: a run -> export/<name>/, models/<name>/ and the catalogue.

One DCGAN is trained for two steps on the real Fashion-MNIST and published into
a temporary repository with metrics computed on 200 samples; the other tests
read that repository or copy it before breaking it. The last test checks that
the repository's own catalogue is what a fresh rebuild gives.
"""

import json
import os
import shutil
import zipfile

import pytest

from zoo import hub, publish
from zoo.cli import main
from zoo.errors import ZooError
from zoo.export.manifest import file_entries, read_manifest

NAME = "test-dcgan-fashion-mnist"
N_EVAL = 200
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = (
    f'name = "{NAME}"\ndescription = "A DCGAN trained for two steps, for tests."\nvariant = "dcgan"\n'
    'dataset = "fashion_mnist"\nepochs = 1\nbatch_size = 32\nsteps_per_epoch = 2\ntake = 256\nseed = 0\n'
)
README_HEADINGS = (
    "## Description", "## Model", "## Inference", "### Input", "### Output", "## Dataset", "## Training",
    "## Validation", "## References", "## Licence", "## Limits",
)


@pytest.fixture(autouse=True)
def _commands(monkeypatch):
    """`zoo publish` is in `zoo.cli.COMMANDS`; added here if not (yet)."""
    from zoo import cli

    missing = tuple(name for name in ("download", "publish") if name not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + missing)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """`(root, run, report)`: a temporary repository with one published DCGAN."""
    from zoo import training

    root = tmp_path_factory.mktemp("repo")
    (root / "zoo").mkdir()
    (root / "models" / NAME).mkdir(parents=True)
    (root / "models" / NAME / "recipe.toml").write_text(RECIPE)
    run = tmp_path_factory.mktemp("runs") / NAME
    training.train("dcgan", out=str(run), epochs=1, steps_per_epoch=2, batch_size=32, take=256, seed=0, verbose=0)
    report = publish.publish_run(run, NAME, repo_root=root, n_eval=N_EVAL)
    return root, run, report


def card_of(root):
    return json.loads((root / "models" / NAME / "card.json").read_text(encoding="utf-8"))


def copy_repo(repo, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(repo[0], root)
    return root


# ------------------------------------------------------------- main path


def test_published_folder_layout(repo):
    root, _, report = repo
    folder = root / "export" / NAME
    assert sorted(file_entries(folder)) == [
        "gan.keras", "generator.keras", "generator.onnx", "generator.tflite", "saved_model.zip",
        "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb",
    ]
    assert not (folder / "saved_model").exists()
    assert [entry for entry in os.listdir(root / "export") if entry.startswith(".")] == []
    manifest = read_manifest(folder)
    assert manifest["formats"]["savedmodel"] == "saved_model.zip" and manifest["formats"]["gan"] == "gan.keras"
    assert manifest["files"] == file_entries(folder)  # rewritten after zipping
    assert manifest["published"]["name"] == NAME and manifest["parity"]["passed"]
    assert report.export_dir == str(folder) and set(report.sizes) == {
        "gan.keras", "generator.keras", "generator.onnx", "generator.tflite", "saved_model.zip"}
    assert manifest["onnx_target"] == "portable" and card_of(root)["export"]["onnx_target"] == "portable"
    with zipfile.ZipFile(folder / "saved_model.zip") as archive:
        names = archive.namelist()
    assert "saved_model/saved_model.pb" in names and all(name.startswith("saved_model/") for name in names)


def test_zoo_verify_passes_on_the_published_folder(repo, capsys):
    assert main(["verify", str(repo[0] / "export" / NAME)]) == 0
    out = capsys.readouterr().out
    assert "savedmodel: max abs error" in out and "verification passed" in out


def test_reexport_rebuilds_from_the_published_keras_file(repo, tmp_path, capsys):
    root = copy_repo(repo, tmp_path)
    folder = root / "export" / NAME
    keras_bytes = (folder / "generator.keras").read_bytes()
    gan_bytes = (folder / "gan.keras").read_bytes()
    card_before = card_of(root)
    (folder / "generator.onnx").write_bytes((folder / "generator.onnx").read_bytes())  # same bytes: still verifies
    assert main(["publish", "--reexport", NAME, "--repo-root", str(root)]) == 0
    assert f"re-exported {NAME}" in capsys.readouterr().out
    assert (folder / "generator.keras").read_bytes() == keras_bytes  # the same weights keep their bytes
    assert (folder / "gan.keras").read_bytes() == gan_bytes and read_manifest(folder)["formats"]["gan"] == "gan.keras"
    assert main(["verify", str(folder)]) == 0
    card = card_of(root)
    assert card["metrics"] == card_before["metrics"] and card["export"]["onnx_target"] == "portable"
    assert [entry for entry in os.listdir(root / "export") if entry.startswith(".")] == []
    assert publish.build_catalogue(root) == json.loads((root / "zoo" / "catalogue.json").read_text())


def test_reexport_refuses_a_publication_that_does_not_verify(repo, tmp_path, capsys):
    from cli_helpers import one_line_error

    root = copy_repo(repo, tmp_path)
    onnx_path = root / "export" / NAME / "generator.onnx"
    onnx_path.write_bytes(b"garbage")
    line = one_line_error(capsys, ["publish", "--reexport", NAME, "--repo-root", str(root)])
    assert "does not verify as it stands" in line
    assert onnx_path.read_bytes() == b"garbage"  # nothing was replaced
    line = one_line_error(capsys, ["publish", "--reexport", "no-such-model", "--repo-root", str(root)])
    assert "'no-such-model' is not published" in line
    assert "--remeasure goes with --reexport" in one_line_error(capsys, ["publish", "--remeasure"])


def test_a_killed_reexport_never_breaks_the_publication_or_the_next_run(repo, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = copy_repo(repo, tmp_path)
    command = [sys.executable, "-m", "zoo", "publish", "--reexport", NAME, "--repo-root", str(root)]
    for delay in (2.0, 4.0):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    # Whatever the kill interrupted, the next run finishes and leaves exactly one verified folder.
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    assert main(["verify", str(root / "export" / NAME)]) == 0
    assert [entry for entry in os.listdir(root / "export") if entry.startswith(".")] == []


def test_zipping_is_reproducible(tmp_path):
    folder = tmp_path / "saved_model"
    (folder / "variables").mkdir(parents=True)
    (folder / "assets").mkdir()
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    publish.zip_folder(folder, tmp_path / "a.zip", "saved_model")
    os.utime(folder / "saved_model.pb", (0, 0))
    publish.zip_folder(folder, tmp_path / "b.zip", "saved_model")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert "saved_model/assets/" in archive.namelist()  # empty folders survive


def test_card_is_the_source_of_truth(repo):
    root, run, _ = repo
    card = card_of(root)
    import keras

    generator = keras.saving.load_model(root / "export" / NAME / "generator.keras", compile=False)
    assert (card["name"], card["variant"], card["dataset"]) == (NAME, "dcgan", "fashion_mnist")
    assert card["description"] == "A DCGAN trained for two steps, for tests."
    assert card["data_licence"] == "Fashion-MNIST: MIT, © Zalando SE" and card["licence"] == "Apache-2.0"
    model = card["model"]
    assert (model["latent_dim"], model["num_classes"], model["image_shape"]) == (64, None, [28, 28, 1])
    assert model["output_range"] == [-1.0, 1.0] and model["parameters"] == generator.count_params()
    # The card's generator facts are the manifest's record, in its one spelling, plus the builder options.
    manifest = json.loads((root / "export" / NAME / "manifest.json").read_text())
    assert {key: value for key, value in model.items() if key != "variant_config"} == manifest["model"]
    training = card["training"]
    run_json = json.loads((run / "run.json").read_text())
    assert (training["steps"], training["images_seen"]) == (2, 64)
    assert training["seconds"] == run_json["result"]["seconds_this_session"]
    assert training["machine"] == run_json["result"]["machine"]
    assert training["recipe"] == f"models/{NAME}/recipe.toml"
    assert training["command"] == f"zoo train --recipe models/{NAME}/recipe.toml --out runs/{NAME}"
    metrics = card["metrics"]
    assert metrics["command"] == f"zoo evaluate export/{NAME} --dataset fashion_mnist --n {N_EVAL} --seed 0 --json"
    assert metrics["protocol"]["n"] == N_EVAL and metrics["protocol"]["dataset"] == "fashion_mnist"
    assert isinstance(metrics["values"]["fd"], float) and 0.0 <= metrics["values"]["recall"] <= 1.0
    assert card["limits"] and any("1511.06434" in reference["url"] for reference in card["references"])
    text = (root / "models" / NAME / "card.json").read_text()
    assert str(root) not in text and ".publish-" not in text and str(run) not in text  # no temporary paths


def test_readme_is_generated_from_the_card(repo):
    root, _, report = repo
    readme = (root / "models" / NAME / "README.md").read_text(encoding="utf-8")
    card = card_of(root)
    positions = [readme.index(heading) for heading in README_HEADINGS]
    assert positions == sorted(positions)
    assert "![test-dcgan-fashion-mnist samples](samples.png)" in readme
    assert card["metrics"]["command"] in readme and card["training"]["command"] in readme
    assert "| Fréchet distance (classifier features) |" in readme
    assert "Fashion-MNIST: MIT, © Zalando SE" in readme and "Apache-2.0" in readme
    assert card["limits"] in readme and "2 generator updates, 64 images seen" in readme
    assert publish.render_readme(card, report.sizes) == readme


def test_samples_png_is_what_zoo_sample_draws(repo, tmp_path):
    from PIL import Image

    root = repo[0]
    samples = root / "models" / NAME / "samples.png"
    assert Image.open(samples).size == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 tiles of 28 px + 2 px padding
    out = tmp_path / "grid.png"
    command = card_of(root)["samples"]["command"].split()
    assert command[:3] == ["zoo", "sample", NAME]
    # A generator-only .keras works where a GAN model.keras does.
    assert main(["sample", str(root / "export" / NAME / "generator.keras"), *command[3:], "--out", str(out)]) == 0
    assert out.read_bytes() == samples.read_bytes()


def test_catalogue_and_index_are_regenerated(repo):
    root = repo[0]
    catalogue = json.loads((root / "zoo" / "catalogue.json").read_text(encoding="utf-8"))
    index = json.loads((root / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert catalogue == publish.build_catalogue(root) and index == publish.build_index(root)
    assert list(catalogue["models"]) == [NAME] and list(index["models"]) == [NAME]
    entry = hub.load_catalogue(root / "zoo" / "catalogue.json").get(NAME)
    manifest_path = root / "export" / NAME / "manifest.json"
    assert entry.files["manifest"].sha256 == index["models"][NAME]["files"]["manifest.json"]["sha256"]
    assert entry.files["manifest"].size == manifest_path.stat().st_size
    assert entry.metrics["fd"] == card_of(root)["metrics"]["values"]["fd"] and entry.metrics["n"] == N_EVAL
    assert [item.path for item in entry.test_vectors] == ["test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"]


def test_rebuild_refuses_a_folder_that_drifted_from_its_manifest(repo, tmp_path):
    root = copy_repo(repo, tmp_path)
    (root / "export" / NAME / "notes.txt").write_text("stray")
    with pytest.raises(ZooError, match=rf"export/{NAME}/notes.txt is not listed in manifest.json"):
        publish.rebuild_catalogue(root)
    os.remove(root / "export" / NAME / "notes.txt")
    with open(root / "export" / NAME / "generator.onnx", "ab") as file:
        file.write(b"x")
    with pytest.raises(ZooError, match=rf"export/{NAME}/generator.onnx does not match manifest.json"):
        publish.rebuild_catalogue(root)
    shutil.rmtree(root / "export" / NAME)
    with pytest.raises(ZooError, match=rf"models/{NAME}/card.json exists but export/{NAME}/ does not"):
        publish.build_index(root)


# ------------------------------------------------------------- bad input


def test_a_size_limit_refuses_and_keeps_the_previous_publication(repo, tmp_path):
    root = copy_repo(repo, tmp_path)
    before = file_entries(root / "export" / NAME)
    catalogue = (root / "zoo" / "catalogue.json").read_bytes()
    with pytest.raises(ZooError) as caught:
        publish.publish_run(repo[1], NAME, repo_root=root, n_eval=0, force=True, max_file_bytes=100_000)
    message = str(caught.value)
    assert "limit is 0.1 MB per published file" in message and "Nothing was published" in message
    assert "\n" not in message
    assert file_entries(root / "export" / NAME) == before
    assert (root / "zoo" / "catalogue.json").read_bytes() == catalogue
    assert [entry for entry in os.listdir(root / "export") if entry.startswith(".")] == []
    sizes = dict(repo[2].sizes)
    gan_bytes, others = sizes.pop("gan.keras"), max(sizes.values())
    assert gan_bytes > others  # the whole GAN is the largest file: the limit holds it too
    with pytest.raises(ZooError, match=r"gan.keras is .* MB; the limit is .* per published file. Publish smaller networks"):
        publish.publish_run(repo[1], NAME, repo_root=root, n_eval=0, force=True, max_file_bytes=(gan_bytes + others) // 2)
    assert file_entries(root / "export" / NAME) == before
    folder = root / "export" / NAME
    with pytest.raises(ZooError, match=r"export/ would hold .* MB after publishing .* the limit is 1 MB in all"):
        publish.check_sizes(folder, root / "export", "another-name", max_total_bytes=1_000_000)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bad name", "Invalid pretrained name"),
        ("not a run", "is not a finished run folder"),
        ("unfinished run", "has no 'result'; the run did not finish"),
        ("no recipe", "No such recipe file"),
        ("recipe of another variant", "says variant = 'cgan' but the run trained variant = 'dcgan'"),
        ("recipe of another name", "is the recipe of 'other-name'"),
        ("already published", "is already published. Pass force=True"),
        ("evaluation of another data set", "scored data set 'mnist'"),
        ("not an evaluation", "not the output of `zoo evaluate --json`"),
        ("unknown data licence", "No licence is known for data set 'mnist'"),
    ],
)
def test_bad_input_is_one_line_and_publishes_nothing(repo, tmp_path, case, expected):
    root = copy_repo(repo, tmp_path)
    run = tmp_path / "run"
    shutil.copytree(repo[1], run)
    name, recipe, evaluation, force = "fresh-name", None, None, False
    _write(root / "models" / name / "recipe.toml", RECIPE.replace(NAME, name))
    if case == "bad name":
        name = "Bad/Name"
    elif case == "not a run":
        os.remove(run / "run.json")
    elif case == "unfinished run":
        settings = json.loads((run / "run.json").read_text())
        del settings["result"]
        (run / "run.json").write_text(json.dumps(settings))
    elif case == "no recipe":
        os.remove(root / "models" / name / "recipe.toml")
    elif case == "recipe of another variant":
        _write(root / "models" / name / "recipe.toml", RECIPE.replace(NAME, name).replace('"dcgan"', '"cgan"'))
    elif case == "recipe of another name":
        _write(root / "models" / name / "recipe.toml", RECIPE.replace(NAME, "other-name"))
    elif case == "already published":
        name = NAME
    elif case == "evaluation of another data set":
        evaluation = tmp_path / "eval.json"
        evaluation.write_text(json.dumps({"metrics": {}, "protocol": {"dataset": "mnist"}}))
    elif case == "not an evaluation":
        evaluation = tmp_path / "eval.json"
        evaluation.write_text("[1, 2]")
    elif case == "unknown data licence":
        settings = json.loads((run / "run.json").read_text())
        settings["dataset"] = "mnist"
        (run / "run.json").write_text(json.dumps(settings))
        _write(root / "models" / name / "recipe.toml", RECIPE.replace(NAME, name).replace("fashion_mnist", "mnist"))
    before = sorted(os.listdir(root / "export"))
    with pytest.raises(ZooError) as caught:
        publish.publish_run(run, name, recipe=recipe, evaluation=evaluation, repo_root=root, force=force, n_eval=0)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(os.listdir(root / "export")) == before


def test_cli_publishes_with_an_evaluation_file_and_rebuilds(repo, tmp_path, capsys):
    root = copy_repo(repo, tmp_path)
    run = repo[1]
    evaluation = tmp_path / "eval.json"
    assert main(["evaluate", str(run / "model.keras"), "--n", "100", "--seed", "3", "--json", "--out", str(evaluation)]) == 0
    capsys.readouterr()
    assert main(["publish", str(run), "--name", NAME, "--evaluation", str(evaluation), "--force", "--repo-root", str(root)]) == 0
    assert f"published {NAME}" in capsys.readouterr().out
    card = card_of(root)
    assert card["metrics"]["protocol"]["n"] == 100
    assert card["metrics"]["command"].endswith("--n 100 --seed 3 --json")
    assert main(["publish", "--rebuild-catalogue", "--repo-root", str(root)]) == 0
    assert "1 published generators" in capsys.readouterr().out
    status = main(["publish", str(run), "--repo-root", str(root)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--name NAME" in err[0]


# ------------------------------------------------------- the repository


def test_committed_catalogue_equals_a_fresh_rebuild():
    """`zoo/catalogue.json` and `export/manifest.json` are what `zoo publish --rebuild-catalogue` writes."""
    with open(os.path.join(REPO, "zoo", "catalogue.json"), encoding="utf-8") as file:
        committed = json.load(file)
    assert committed == publish.build_catalogue(REPO), "run `zoo publish --rebuild-catalogue` and commit the result"
    with open(os.path.join(REPO, "export", "manifest.json"), encoding="utf-8") as file:
        assert json.load(file) == publish.build_index(REPO)
    assert hub.load_catalogue(hub.catalogue.PACKAGED_CATALOGUE).names() == sorted(committed["models"])
