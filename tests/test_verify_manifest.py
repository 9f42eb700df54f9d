"""`zoo verify` and the hub check what a manifest claims before trusting it.

Each tampering case is made on a real folder: a small real ONNX generator
(`z` [batch, 4] -> `image` [batch, 2, 2, 1]), its real test vectors and a
manifest written the way `zoo export` writes it. Only onnxruntime is replayed,
so TensorFlow never loads. Every case must give a one-line failure that starts
with (or names) the file at fault.
"""

import hashlib
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

from zoo import hub
from zoo.cli import main
from zoo.errors import ZooError
from zoo.export import manifest as manifest_module
from zoo.export.verify import verify_artifact
from zoo.files import sha256_file

NAME = "tiny-gan"


def tiny_onnx(scale=1.0):
    import onnx
    from onnx import TensorProto, helper

    weights = (np.arange(16, dtype=np.float32).reshape(4, 4) / 16.0 * scale).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["z", "w"], ["m"]),
            helper.make_node("Tanh", ["m"], ["t"]),
            helper.make_node("Reshape", ["t", "shape"], ["image"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 2, 2, 1])],
        [
            onnx.numpy_helper.from_array(weights, "w"),
            onnx.numpy_helper.from_array(np.array([-1, 2, 2, 1], dtype=np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A sound export folder: generator.onnx, generator.keras (bytes), test vectors, manifest.json."""
    from zoo.export import runtime
    from zoo.export.test_vectors import write_test_vectors
    from zoo.sessions import onnx_session

    folder = tmp_path_factory.mktemp("tiny") / NAME
    folder.mkdir()
    (folder / "generator.onnx").write_bytes(tiny_onnx())
    (folder / "generator.keras").write_bytes(b"not loaded by these tests" * 40)
    z = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    image = runtime.run_onnx(onnx_session(str(folder / "generator.onnx")), {"z": z})
    write_test_vectors(str(folder), {"z": z}, {"image": image})
    write_manifest(folder, formats={"keras": "generator.keras", "onnx": "generator.onnx"})
    return folder


def write_manifest(folder, formats, files=None):
    manifest = {
        "format_version": 1,
        "formats": formats,
        "files": manifest_module.file_entries(str(folder)) if files is None else files,
        "test_data": {"folder": "test_data_set_0"},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def edit_manifest(folder, edit):
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def entry_of(path):
    return {"sha256": sha256_file(path), "size": os.path.getsize(path)}


@pytest.fixture
def folder(original, tmp_path):
    copy = tmp_path / "work" / NAME
    shutil.copytree(original, copy)
    return copy


def failures(folder):
    report = verify_artifact(str(folder), runtimes=("onnxruntime",))
    assert all("\n" not in line for line in report.failures)
    return report


def test_the_sound_folder_passes(folder, capsys):
    report = failures(folder)
    assert report.passed and report.errors["onnxruntime"] == 0.0, str(report)
    assert main(["verify", str(folder), "--runtime", "onnxruntime"]) == 0


# ----------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "path, problem",
    [
        ("../outside.bin", "has a '..' part"),
        ("test_data_set_0/../../outside.bin", "has a '..' part"),
        ("/etc/hostname", "is absolute"),
        ("./generator.onnx", "is not normalised"),
        ("test_data_set_0//input_0.pb", "is not normalised"),
        ("test_data_set_0\\input_0.pb", "holds a backslash"),
        ("C:/generator.onnx", "is absolute"),
    ],
)
def test_a_listed_path_outside_or_not_normalised_is_named_and_never_read(folder, path, problem):
    outside = folder.parent / "outside.bin"
    outside.write_bytes(b"a file beside the folder")
    edit_manifest(folder, lambda m: m["files"].update({path: entry_of(outside)}))
    report = failures(folder)
    assert not report.passed
    assert report.failures[0].startswith(f"{path!r}: listed in manifest.json with a path that {problem}"), report.failures
    assert report.files_checked == 4  # the 4 sound entries; the bad one was not opened
    assert not report.errors and any("layout is unsafe" in line for line in report.skipped)  # nothing was run


def test_a_symbolic_link_that_leads_out_of_the_folder_is_named(folder):
    outside = folder.parent / "elsewhere"
    shutil.copytree(folder / "test_data_set_0", outside)
    shutil.rmtree(folder / "test_data_set_0")
    os.symlink(outside, folder / "test_data_set_0")  # the same bytes: the hashes alone would pass
    report = failures(folder)
    lines = [line for line in report.failures if "leads outside the folder through a symbolic link" in line]
    assert [line.split(":")[0] for line in lines] == ["test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"]
    assert "test_data_set_0: not listed in manifest.json (a symbolic link" in " ".join(report.failures)

    os.remove(folder / "test_data_set_0")
    shutil.copytree(outside, folder / "test_data_set_0")
    shutil.copy(folder / "generator.keras", folder.parent / "keras-copy")
    os.remove(folder / "generator.keras")
    os.symlink(folder.parent / "keras-copy", folder / "generator.keras")
    report = failures(folder)
    assert [line.split(":")[0] for line in report.failures] == ["generator.keras"], report.failures
    assert "leads outside the folder through a symbolic link (to " in report.failures[0]


# ----------------------------------------------------- the files runtimes load


def test_formats_pointing_elsewhere_cannot_hide_a_garbage_generator_onnx(folder):
    # The reported fault: formats.onnx named another (good) file, generator.onnx was garbage and unlisted.
    os.rename(folder / "generator.onnx", folder / "other.onnx")
    (folder / "generator.onnx").write_bytes(b"garbage")
    write_manifest(folder, formats={"keras": "generator.keras", "onnx": "other.onnx"},
                   files={k: v for k, v in manifest_module.file_entries(str(folder)).items() if k != "generator.onnx"})
    report = failures(folder)
    assert report.failures == [
        "other.onnx: formats.onnx in manifest.json must be generator.onnx, not 'other.onnx' "
        "(the runtimes load the standard file).",
        "generator.onnx: not listed in manifest.json (a file the manifest does not vouch for: remove it, "
        "or export the folder again).",
    ], report.failures


def test_a_runtime_file_that_is_not_listed_is_a_failure(folder):
    edit_manifest(folder, lambda m: m["files"].pop("generator.onnx"))
    report = failures(folder)
    assert report.failures[0].startswith("generator.onnx: formats.onnx in manifest.json points at it, but 'files' "
                                         "does not list it (not hashed)."), report.failures
    assert any(line.startswith("generator.onnx: not listed in manifest.json") for line in report.failures)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: m["formats"].pop("onnx"), "generator.onnx: manifest.json 'formats' has no 'onnx' entry for it."),
        (lambda m: m["formats"].pop("keras"), "generator.keras: manifest.json 'formats' has no 'keras' entry for it."),
        (lambda m: m.pop("formats"), "manifest.json: has no 'formats' table"),
        (lambda m: m.update(formats=["generator.onnx"]), "manifest.json: has no 'formats' table"),
        (lambda m: m["formats"].update(litert="generator.tflite"), "generator.tflite: formats.litert in manifest.json points at it, but 'files' does not list it"),
        (lambda m: m["formats"].update(savedmodel="saved_model"), "saved_model: formats.savedmodel in manifest.json points at it, but 'files' does not list it"),
        (lambda m: m["formats"].update(onnx_fp16="generator.fp16.onnx"), "generator.fp16.onnx: formats.onnx_fp16 in manifest.json points at it"),
        (lambda m: m["formats"].update(keras="../generator.keras"), "'../generator.keras': formats.keras in manifest.json has a path that has a '..' part"),
        (lambda m: m["files"]["generator.keras"].update(sha256="abc"), "generator.keras: bad sha256 'abc' in manifest.json"),
        (lambda m: m["files"]["generator.keras"].update(size="1000"), "generator.keras: bad size '1000' in manifest.json"),
        (lambda m: m["files"].update({"generator.keras": 7}), "generator.keras: its manifest.json entry is not an object"),
        (lambda m: m["files"].update({"manifest.json": {"sha256": "0" * 64, "size": 1}}), "manifest.json: lists itself"),
    ],
)
def test_a_tampered_formats_or_files_table_is_one_line_naming_the_file(folder, edit, expected):
    edit_manifest(folder, edit)
    report = failures(folder)
    assert any(line.startswith(expected) for line in report.failures), report.failures
    assert not report.errors  # nothing was loaded from an unsafe layout


# --------------------------------------------------------------- extra files


def test_every_file_the_manifest_does_not_list_is_named(folder, capsys):
    (folder / "notes.txt").write_text("left here")
    (folder / "test_data_set_0" / "README.txt").write_bytes(b"an extra file")
    os.symlink("/etc", folder / "etc-link")
    report = failures(folder)
    assert [line.split(":")[0] for line in report.failures] == ["etc-link", "notes.txt", "test_data_set_0/README.txt"]
    assert "(a symbolic link the manifest does not vouch for" in report.failures[0]
    assert main(["verify", str(folder), "--runtime", "onnxruntime"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("  FAIL ")] == [f"  FAIL {line}" for line in report.failures]


def test_many_extra_files_are_summed_up(folder):
    for index in range(25):
        (folder / f"extra-{index:02d}.txt").write_text("x")
    report = failures(folder)
    assert len(report.failures) == 21 and report.failures[-1] == (
        "extra-20.txt: and 4 more files not listed in manifest.json."
    )


# ------------------------------------------------- derived files of the hub cache


def add_saved_model_zip(folder):
    """Lists a saved_model.zip (formats.savedmodel) and unzips it beside, as the hub cache does."""
    with zipfile.ZipFile(folder / "saved_model.zip", "w") as archive:
        archive.writestr("saved_model/", b"")
        archive.writestr("saved_model/saved_model.pb", b"graph bytes")
        archive.writestr("saved_model/variables/variables.index", b"index bytes")
    write_manifest(folder, formats={"keras": "generator.keras", "onnx": "generator.onnx", "savedmodel": "saved_model.zip"})
    with zipfile.ZipFile(folder / "saved_model.zip") as archive:
        archive.extractall(folder)


def test_an_unzipped_copy_of_a_listed_saved_model_zip_is_accepted_only_while_it_matches(folder):
    add_saved_model_zip(folder)
    assert failures(folder).passed
    (folder / "saved_model" / "saved_model.pb").write_bytes(b"graph bytez")
    report = failures(folder)
    assert report.failures == [
        "saved_model/: differs from saved_model.zip (an unzipped copy that was changed: delete it; "
        "zoo.hub.download(name, format='savedmodel') extracts it again)."
    ]


def test_a_rebuilt_saved_model_needs_its_stamp(folder):
    (folder / "saved_model").mkdir()
    (folder / "saved_model" / "saved_model.pb").write_bytes(b"rebuilt graph")
    report = failures(folder)
    assert [line.split(":")[0] for line in report.failures] == ["saved_model/saved_model.pb"]
    (folder / "saved_model.from").write_text("0" * 64)  # not generator.keras's sha256
    assert [line.split(":")[0] for line in failures(folder).failures] == ["saved_model.from", "saved_model/saved_model.pb"]
    (folder / "saved_model.from").write_text(sha256_file(folder / "generator.keras"))
    assert failures(folder).passed


# ------------------------------------------------------------ the hub's reading


def publish(folder, tmp_path):
    """A one-entry catalogue for `folder` (file:// source = its parent); returns the catalogue path."""
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = manifest["files"]

    def item(relative):
        return {"path": relative, **listed[relative]}

    entry = {
        "description": "A tiny generator.", "variant": "dcgan", "dataset": "synthetic", "latent_dim": 4,
        "image_shape": [2, 2, 1], "num_classes": None, "class_names": None, "value_range": [-1.0, 1.0],
        "parameters": 16,
        "files": {
            "keras": item("generator.keras"), "onnx": item("generator.onnx"),
            "manifest": {"path": "manifest.json", **entry_of(folder / "manifest.json")},
        },
        "test_vectors": [item(relative) for relative in sorted(listed) if relative.startswith("test_data_set_0/")],
        "metrics": {}, "training": {}, "recipe": "r", "card": "c", "licence": "Apache-2.0", "data_licence": "none",
    }
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"format_version": 1, "models": {NAME: entry}}))
    return str(path)


def hub_download(folder, tmp_path, format="all"):
    return hub.download(NAME, format, source=str(folder.parent), cache_dir=str(tmp_path / "cache"),
                        catalogue=publish(folder, tmp_path))


def test_the_hub_downloads_a_sound_publication_that_verify_passes(folder, tmp_path):
    path = hub_download(folder, tmp_path)
    assert failures(path).passed


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: m["files"].update({"../evil.bin": {"sha256": "0" * 64, "size": 1}}),
         "'../evil.bin': listed in manifest.json with a path that has a '..' part"),
        (lambda m: m["formats"].update(onnx="generator.keras"),
         "generator.keras: formats.onnx in manifest.json must be generator.onnx"),
        (lambda m: m["files"].update({"notes.txt": {"sha256": "0" * 64, "size": 1}}),
         "notes.txt: listed in manifest.json but not in the catalogue entry."),
        (lambda m: m["files"]["generator.onnx"].update(size=1),
         "generator.onnx: manifest.json and the catalogue give it different sha256/size."),
    ],
)
def test_the_hub_checks_a_downloaded_manifest_like_verify(folder, tmp_path, edit, expected):
    catalogue = publish(folder, tmp_path)  # the catalogue lists the sound files ...
    edit_manifest(folder, edit)  # ... the manifest (pinned by its own sha256 below) says something else
    data = json.loads(open(catalogue).read())
    data["models"][NAME]["files"]["manifest"].update(entry_of(folder / "manifest.json"))
    open(catalogue, "w").write(json.dumps(data))
    for format_name in ("manifest", "all"):
        with pytest.raises(ZooError) as caught:
            hub.download(NAME, format_name, source=str(folder.parent), cache_dir=str(tmp_path / "cache"),
                         catalogue=catalogue)
        message = str(caught.value)
        assert "\n" not in message and f"manifest.json of '{NAME}'" in message and expected in message, message
    cached = {name for _, _, names in os.walk(tmp_path / "cache") for name in names}
    assert cached == {"manifest.json"}  # nothing else was fetched


def test_a_zip_member_that_leaves_the_folder_is_refused_by_verify(folder):
    add_saved_model_zip(folder)
    shutil.rmtree(folder / "saved_model")
    with zipfile.ZipFile(folder / "saved_model.zip", "a") as archive:
        archive.writestr("saved_model/../../escape.txt", b"x")
    edit_manifest(folder, lambda m: m["files"].update({"saved_model.zip": entry_of(folder / "saved_model.zip")}))
    report = verify_artifact(str(folder), runtimes=("savedmodel",))
    assert len(report.failures) == 1 and report.failures[0].startswith("saved_model.zip: savedmodel could not run it")
    assert "unexpected member 'saved_model/../../escape.txt'" in report.failures[0]
    assert not os.path.exists(folder.parent / "escape.txt")


def test_hashes_are_unchanged_by_the_layout_checks(original):
    # file_entries (what `zoo export` writes) passes the layout rules as it is.
    from zoo.hub.layout import layout_failures

    manifest = json.loads((original / "manifest.json").read_text())
    assert layout_failures(manifest) == []
    assert manifest["files"]["generator.onnx"]["sha256"] == hashlib.sha256(tiny_onnx()).hexdigest()
