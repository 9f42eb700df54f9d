"""The published artifact: export, zip, verify and size-check `export/<name>/`.

`export_folder` exports a generator with the portable ONNX target,
`add_gan_file` saves the whole GAN beside it (`gan.keras`, format `"gan"`:
generator, EMA generator, discriminator, optimizer state and compile config, for
fine-tuning; listed and hashed in the manifest, but no runtime replays it),
`zip_and_verify` puts the folder in its published layout (`saved_model.zip`,
manifest rewritten) and runs `zoo verify` on it, and `check_sizes` holds every
published file, `gan.keras` included, to the per-file and whole-`export/` limits.

Example:

>>> report = export_folder(gan, folder, dataset="fashion_mnist", training_steps=9380, class_names=None)
>>> add_gan_file(gan, folder)
>>> parity = zip_and_verify(folder, "dcgan-fashion-mnist")
>>> sizes, export_bytes = check_sizes(folder, "export", "dcgan-fashion-mnist")
"""

import os
import shutil
import zipfile

from zoo.errors import ZooError
from zoo.hub.layout import GAN_FILE
from zoo.publish.catalogue import PUBLISHED_FORMATS

MAX_FILE_BYTES = 16_000_000
MAX_TOTAL_BYTES = 80_000_000
SAVED_MODEL_ZIP = "saved_model.zip"
# A larger SavedModel is not shipped (it would repeat the .keras weights a third
# time); downloads rebuild it from the verified .keras file.
MAX_SAVED_MODEL_ZIP_BYTES = 2_500_000


def export_folder(gan_or_generator, folder, *, dataset, training_steps, class_names):
    """Exports the generator to be published into `folder`: always the portable ONNX target."""
    from zoo.export.exporter import export_generator
    from zoo.export.targets import DEFAULT_TARGET

    report = export_generator(
        gan_or_generator,
        folder,
        dataset=dataset,
        training_steps=training_steps,
        class_names=class_names,
        target=DEFAULT_TARGET,
    )
    if report.target != DEFAULT_TARGET:  # a runtime-tuned graph is never published
        raise ZooError(f"Only the {DEFAULT_TARGET} ONNX target is published. Received: target={report.target!r}.")
    return report


def add_gan_file(gan, folder):
    """Saves the compiled `gan` as `folder/gan.keras` and names it as format `"gan"` in the manifest.

    The file holds what `fit` needs to go on: both generators, the
    discriminator, the optimizers' state and the compile config
    (`zoo.pretrained(name, format="gan")`, `zoo train --init-from NAME`).

    Raises:
        ZooError: when `gan` is not compiled (a file `fit` could not continue).
    """
    from zoo.export import manifest as manifest_module

    if getattr(gan, "g_optimizer", None) is None:
        raise ZooError(
            f"The run's GAN is not compiled, so its {GAN_FILE} could not continue training. "
            "Publish a model.keras written by `zoo train`. Nothing was published."
        )
    gan.save(os.path.join(folder, GAN_FILE))
    manifest = manifest_module.read_manifest(folder)
    manifest["formats"]["gan"] = GAN_FILE
    manifest["files"] = manifest_module.file_entries(folder)
    manifest_module.write_manifest(folder, manifest)


def zip_and_verify(folder, name, max_saved_model_zip_bytes=None):
    """Puts `folder` in its published layout (`zip_saved_model`) and verifies it (`verify_published`)."""
    zip_saved_model(folder, name, max_saved_model_zip_bytes)
    return verify_published(folder, name)


def zip_saved_model(folder, name, max_saved_model_zip_bytes=None):
    """Replaces `saved_model/` by `saved_model.zip` (or drops it when large) and rewrites the manifest."""
    if max_saved_model_zip_bytes is None:
        max_saved_model_zip_bytes = MAX_SAVED_MODEL_ZIP_BYTES
    from zoo.export import manifest as manifest_module

    manifest = manifest_module.read_manifest(folder)
    saved_model = os.path.join(folder, manifest["formats"].get("savedmodel", "saved_model"))
    zip_path = os.path.join(folder, SAVED_MODEL_ZIP)
    zip_folder(saved_model, zip_path, "saved_model")
    shutil.rmtree(saved_model)
    zip_bytes = os.path.getsize(zip_path)
    if zip_bytes <= max_saved_model_zip_bytes:
        manifest["formats"]["savedmodel"] = SAVED_MODEL_ZIP
        saved_model_note = f"the saved_model/ folder, zipped as {SAVED_MODEL_ZIP} (unzip it to get the folder back)"
    else:
        os.remove(zip_path)
        manifest["formats"].pop("savedmodel", None)
        saved_model_note = (
            f"not shipped ({zip_bytes / 1e6:.1f} MB zipped, over {max_saved_model_zip_bytes / 1e6:g} MB): "
            f"zoo.hub.download(name, format='savedmodel') or `zoo export generator.keras` rebuilds it "
            f"(the download checks it against test_data_set_0)"
        )
    manifest["files"] = manifest_module.file_entries(folder)
    manifest["published"] = {
        "name": name,
        "saved_model": saved_model_note,
        "verified": "export parity gate before zipping; `zoo verify` (hashes + test vectors) after",
    }
    manifest_module.write_manifest(folder, manifest)


def verify_published(folder, name):
    """`zoo verify` of a folder in its published layout: `{runtime: max abs error}`, or a one-line `ZooError`."""
    from zoo.export.verify import verify_artifact

    report = verify_artifact(folder)
    if not report.passed:
        raise ZooError(f"The published layout of '{name}' fails verification: {report.failures[0]} Nothing was published.")
    return dict(report.errors)


def zip_folder(folder, zip_path, root_name):
    """Zips `folder` as `root_name/...`, byte-for-byte reproducibly (sorted, fixed dates)."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for current, directories, files in os.walk(folder):
            directories.sort()
            relative = os.path.relpath(current, folder).replace(os.sep, "/")
            prefix = root_name if relative == "." else f"{root_name}/{relative}"
            info = zipfile.ZipInfo(prefix + "/", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
            for file_name in sorted(files):
                info = zipfile.ZipInfo(f"{prefix}/{file_name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(os.path.join(current, file_name), "rb") as file:
                    archive.writestr(info, file.read(), compresslevel=9)


def check_sizes(folder, export_root, name, max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_TOTAL_BYTES):
    """Returns `({model file: bytes}, export/ bytes after publishing)`; `ZooError` past a limit."""
    from zoo.export.manifest import read_manifest

    formats = read_manifest(folder)["formats"]
    sizes = {}
    for format_name in PUBLISHED_FORMATS:
        if format_name not in formats:  # a SavedModel too large to ship
            continue
        relative = formats[format_name]
        sizes[relative] = os.path.getsize(os.path.join(folder, relative))
        if sizes[relative] > max_file_bytes:
            smaller = (
                "smaller networks (fewer filters in G and D: it holds both generators, D and their optimizer state)"
                if format_name == "gan" else "a smaller generator (fewer filters)"
            )
            raise ZooError(
                f"export/{name}/{relative} is {sizes[relative] / 1e6:.2f} MB; the limit is {max_file_bytes / 1e6:g} MB "
                f"per published file. Publish {smaller}. Nothing was published."
            )
    total = _tree_bytes(folder)
    for entry in sorted(os.listdir(export_root)):
        if entry.startswith(".") or entry == name:
            continue  # temporary folders, and the publication being replaced
        total += _tree_bytes(os.path.join(export_root, entry))
    if total > max_total_bytes:
        raise ZooError(
            f"export/ would hold {total / 1e6:.1f} MB after publishing '{name}'; the limit is "
            f"{max_total_bytes / 1e6:g} MB in all. Unpublish a model or shrink this one. Nothing was published."
        )
    return sizes, total


def _tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, file)) for root, _, files in os.walk(path) for file in files)
