"""The published index and the packaged catalogue, regenerated from the repository.

`export/manifest.json` (the index) lists every published name's files with
sha256 and size, its formats and facts; `zoo/catalogue.json` (shipped in the
package, read by `zoo.hub`) joins each manifest's `zoo.record.GeneratorRecord`
(the one copy of the generator's facts) with what `models/<name>/card.json`
adds: description, metrics, training summary, licences (and the variant or
data set where the manifest lacks them). Both are generated, deterministic
(sorted keys, no dates) and never edited by hand.
"""

import json
import os
import shutil

from zoo import paths
from zoo.errors import ZooError
from zoo.files import json_default, sha256_file, write_bytes_atomically
from zoo.hub.catalogue import CATALOGUE_FILE, FORMAT_VERSION, check_name, parse_entry
from zoo.publish.card import machine_summary, metrics_summary
from zoo.record import GeneratorRecord

CARD_FILE = "card.json"
INDEX_FILE = "manifest.json"
MODEL_FORMATS = ("keras", "onnx", "savedmodel", "litert")
# Published files that are not an inference format (no parity row): the whole GAN, for fine-tuning.
TRAINING_FORMATS = ("gan",)
PUBLISHED_FORMATS = MODEL_FORMATS + TRAINING_FORMATS


def repository_root(repo_root=None):
    """The repository to publish into: `repo_root`, else the checkout running zoo.

    Publishing writes `export/`, `models/` and `zoo/catalogue.json` of that
    repository, never the installed package.

    Raises:
        ZooError: when `repo_root` is not a folder, or it is `None` and zoo is
            installed from a wheel (`zoo.paths.checkout_root()` is `None`).
    """
    if repo_root is not None:
        root = os.path.abspath(os.fspath(repo_root))
        if not os.path.isdir(root):
            raise ZooError(f"No such repository folder: {root}. Pass --repo-root of a keras-gan-zoo checkout.")
        return root
    checkout = paths.checkout_root()
    if checkout is None:
        raise ZooError(
            "zoo is installed as a package, not run from a source checkout, so there is no repository to publish into. "
            f"Received: repo_root=None, zoo at {paths.package_dir()}. Publish from a clone of keras-gan-zoo or pass --repo-root."
        )
    return os.fspath(checkout)


def build_index(repo_root):
    """The `export/manifest.json` index: every published name's files, formats and facts.

    Raises:
        ZooError: when a published folder and its manifest disagree (a file
            missing, changed, or not listed).
    """
    from zoo.export.manifest import file_entries, read_manifest

    root = repository_root(repo_root)
    index = {"format_version": FORMAT_VERSION, "generated_by": "zoo publish (zoo.publish.rebuild_catalogue)", "models": {}}
    for name in published_names(root):
        folder = os.path.join(root, "export", name)
        if not os.path.isdir(folder):
            raise ZooError(f"models/{name}/{CARD_FILE} exists but export/{name}/ does not; publish it again or remove the card.")
        manifest = read_manifest(folder)
        on_disk = file_entries(folder)
        for relative in sorted(set(on_disk) | set(manifest["files"])):
            if on_disk.get(relative) != manifest["files"].get(relative):
                problem = "is missing" if relative not in on_disk else (
                    "is not listed in manifest.json" if relative not in manifest["files"] else "does not match manifest.json"
                )
                raise ZooError(f"export/{name}/{relative} {problem}; publish '{name}' again (zoo publish --force).")
        manifest_path = os.path.join(folder, "manifest.json")
        files = dict(on_disk)
        files["manifest.json"] = {"sha256": sha256_file(manifest_path), "size": os.path.getsize(manifest_path)}
        index["models"][name] = {
            "formats": manifest["formats"],
            "files": files,
            "model": manifest["model"],
            "io": manifest["io"],
            "opset": manifest.get("opset"),
            "onnx_target": manifest.get("onnx_target", "portable"),
        }
    return index


def build_catalogue(repo_root, index=None):
    """The packaged catalogue dict: each index entry's record, with `models/<name>/card.json`'s other fields."""
    root = repository_root(repo_root)
    index = build_index(root) if index is None else index
    models = {}
    for name, item in index["models"].items():
        card = read_card(root, name)
        files = item["files"]
        # The generator's facts are the manifest's record; the card adds what it lacks.
        record = GeneratorRecord.from_dict(item["model"], source=f"export/{name}/manifest.json")
        record = record.replace(variant=record.variant or card["variant"], dataset=record.dataset or card["dataset"])
        entry_files = {
            fmt: {"path": item["formats"][fmt], **files[item["formats"][fmt]]}
            for fmt in PUBLISHED_FORMATS
            if fmt in item["formats"]  # a large SavedModel is not shipped (rebuilt on download); older: no GAN
        }
        entry_files["manifest"] = {"path": "manifest.json", **files["manifest.json"]}
        training = card["training"]
        models[name] = {
            "description": card["description"],
            **record.to_dict(),
            "data_licence": card["data_licence"],
            "licence": card["licence"],
            "files": entry_files,
            "test_vectors": [
                {"path": path, **files[path]} for path in sorted(files) if path.startswith("test_data_set_0/")
            ],
            "metrics": metrics_summary(card.get("metrics")),
            "training": {
                "steps": training.get("steps"),
                "images_seen": training.get("images_seen"),
                "seconds": training.get("seconds"),
                "machine": machine_summary(training.get("machine")),
                "command": training.get("command"),
            },
            "recipe": training["recipe"],
            "card": f"models/{name}/README.md",
        }
        parse_entry(name, models[name], source="the rebuilt catalogue")  # what `zoo.hub` will read
    return {"format_version": FORMAT_VERSION, "generated_by": index["generated_by"], "models": models}


def rebuild_catalogue(repo_root=None, write=True):
    """Regenerates `export/manifest.json` and `zoo/catalogue.json` of the repository; returns the catalogue.

    The repository is `repo_root`, else the checkout running zoo (`repository_root`).

    Example:

    >>> catalogue = rebuild_catalogue(".")
    >>> sorted(catalogue["models"])
    ['cgan-fashion-mnist', 'dcgan-fashion-mnist']
    """
    root = repository_root(repo_root)
    index = build_index(root)
    catalogue = build_catalogue(root, index)
    if write:
        write_bytes_atomically(os.path.join(root, "export", INDEX_FILE), json_bytes(index))
        write_bytes_atomically(os.path.join(root, "zoo", CATALOGUE_FILE), json_bytes(catalogue))
    return catalogue


def published_names(repo_root):
    """Names with a `models/<name>/card.json`, sorted."""
    models = os.path.join(repo_root, "models")
    if not os.path.isdir(models):
        return []
    names = []
    for name in sorted(os.listdir(models)):
        if os.path.isfile(os.path.join(models, name, CARD_FILE)):
            try:
                names.append(check_name(name))
            except ZooError:
                raise ZooError(f"models/{name}/ holds a {CARD_FILE} but '{name}' is not a valid published name.") from None
    return names


def read_card(repo_root, name):
    path = os.path.join(repo_root, "models", name, CARD_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{path}: not readable JSON ({error}).") from None


def release_assets(repo_root=None, out_dir="release-assets"):
    """Copies every published file to `out_dir/<name>--<file>` for a flat host (a GitHub release).

    Download them with `ZOO_HUB_URL='https://github.com/OWNER/REPO/releases/download/TAG/{asset}'`.

    Returns:
        The sorted list of written paths.
    """
    root = repository_root(repo_root)
    from zoo.hub.sources import asset_name

    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, item in build_index(root)["models"].items():
        for relative in item["files"]:
            destination = os.path.join(out_dir, asset_name(name, relative))
            shutil.copyfile(os.path.join(root, "export", name, *relative.split("/")), destination)
            written.append(destination)
    return sorted(written)


def json_bytes(value):
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False, default=json_default) + "\n").encode("utf-8")
