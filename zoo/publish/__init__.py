"""The publish pipeline: a finished training run -> a published, downloadable generator.

`publish_run(run_dir, name)` (`zoo publish RUN_DIR --name NAME`) writes

    export/<name>/generator.keras      the generator alone (float32)
                 /generator.onnx       ONNX, parity-checked against Keras
                 /saved_model.zip      the SavedModel folder, zipped (`unzip` restores saved_model/);
                                       not shipped above 2.5 MB: `zoo.hub.download` rebuilds it
                 /gan.keras            the whole GAN (G, EMA G, D, optimizer state), for fine-tuning
                 /test_data_set_0/     input_0.pb (z), [input_1.pb (label)], output_0.pb (image)
                 /manifest.json        files (sha256, size), io, facts, parity; `zoo verify` passes
    models/<name>/card.json            the single source of truth about the model
                 /README.md            the model card, generated from card.json
                 /samples.png          8x8 grid from latent seed 0 (conditional: a row per class)
                 /recipe.toml          everything `zoo train --recipe` needs

and regenerates `export/manifest.json` (the index of every published name) and
the packaged catalogue `zoo/catalogue.json` from `models/*/card.json` and the
export manifests (`rebuild_catalogue`). The artifact is built in a hidden
temporary folder inside `export/` and renamed into place only after export
parity, `verify_artifact` on the zipped layout and the size limits pass.

The modules, one job each: `pipeline` (`publish_run`), `inputs` (the run, the
recipe and an evaluation, checked), `artifact` (export, zip, verify, sizes),
`staging` (build beside `export/<name>/`, swap in), `evaluation` (metrics),
`card` (card.json, README.md, samples.png), `catalogue` (the indexes) and
`reexport` (rebuild a publication from its own `generator.keras`).
"""


from zoo.publish.artifact import (
    MAX_FILE_BYTES,
    MAX_SAVED_MODEL_ZIP_BYTES,
    MAX_TOTAL_BYTES,
    SAVED_MODEL_ZIP,
    add_gan_file,
    check_sizes,
    export_folder,
    verify_published,
    zip_and_verify,
    zip_folder,
    zip_saved_model,
)
from zoo.publish.card import (
    DATASETS,
    build_card,
    card_export_facts,
    metrics_summary,
    render_readme,
    render_samples,
)
from zoo.publish.catalogue import (
    CARD_FILE,
    MODEL_FORMATS,
    PUBLISHED_FORMATS,
    TRAINING_FORMATS,
    build_catalogue,
    build_index,
    json_bytes,
    rebuild_catalogue,
    release_assets,
    repository_root,
)
from zoo.publish.evaluation import DEFAULT_N_EVAL, evaluate_folder, portable_evaluation
from zoo.publish.inputs import read_evaluation, read_recipe, read_run
from zoo.publish.pipeline import PublishReport, publish_run
from zoo.publish.reexport import reexport_published
from zoo.publish.staging import replace_folder, staging_folder

__all__ = [
    "PublishReport",
    "add_gan_file",
    "build_catalogue",
    "build_index",
    "card_export_facts",
    "check_sizes",
    "evaluate_folder",
    "export_folder",
    "portable_evaluation",
    "publish_run",
    "reexport_published",
    "rebuild_catalogue",
    "release_assets",
    "replace_folder",
    "verify_published",
    "zip_and_verify",
    "zip_folder",
    "zip_saved_model",
]
