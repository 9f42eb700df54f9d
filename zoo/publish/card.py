"""The model card: `models/<name>/card.json`, its README.md and samples.png.

`card.json` is the single source of truth about a published generator; the
README (ONNX Model Zoo headings: Description, Model, Inference, Dataset,
Training, Validation, References, Licence, Limits) and the catalogue are
generated from it, never parsed back.
"""

from zoo.hub.catalogue import FORMAT_VERSION
from zoo.registry import variant_record

LICENCE = "Apache-2.0"
SAMPLES_SEED = 0
SAMPLES_COLUMNS = 8
SUMMARY_METRICS = (
    "fd", "kid", "classifier_score", "precision", "recall", "density", "coverage",
    "conditional_accuracy", "inception_fid",
)
DATASETS = {
    "fashion_mnist": {
        "title": "Fashion-MNIST",
        "licence": "Fashion-MNIST: MIT, © Zalando SE",
        "train_images": 60_000,
        "url": "https://github.com/zalandoresearch/fashion-mnist",
        "reference": ("Xiao, Rasul & Vollgraf 2017, Fashion-MNIST", "https://arxiv.org/abs/1708.07747"),
    },
}
EMA_REFERENCE = ("Yazici et al. 2019, The Unusual Effectiveness of Averaging in GAN Training", "https://arxiv.org/abs/1806.04498")
SELF_CONDITIONING_REFERENCE = (
    "Liu et al. 2020, Diverse Image Generation via Self-Conditioned GANs", "https://arxiv.org/abs/2006.10728"
)


def build_card(name, description, run, manifest, export_report, evaluation, *, data_licence, samples=None,
               limits=None):
    """The card dict (`models/<name>/card.json`): every fact the README, the catalogue and users need.

    `run` is the finished run's `zoo.run_config.RunRecord` (`zoo.publish.read_run`).
    """
    from zoo.export.manifest import manifest_record

    record = manifest_record(manifest)
    config, result = run.config, run.result
    dataset = config.dataset
    variant_config = dict(config.variant_config)
    # The variant's papers come from its registry record; the stabilisers' and data set's from here.
    references = [
        {"title": title, "url": url}
        for title, url in variant_record(config.variant).reference_links()
    ]
    if variant_config.get("ema_decay"):
        references.append({"title": EMA_REFERENCE[0], "url": EMA_REFERENCE[1]})
    if variant_config.get("clusters"):
        references.append({"title": SELF_CONDITIONING_REFERENCE[0], "url": SELF_CONDITIONING_REFERENCE[1]})
    if dataset in DATASETS:
        title, url = DATASETS[dataset]["reference"]
        references.append({"title": title, "url": url})
    card = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "description": description,
        "variant": config.variant,
        "dataset": dataset,
        "data_licence": data_licence,
        "licence": LICENCE,
        "model": {**record.to_dict(), "variant_config": variant_config},
        "io": manifest["io"],
        "export": card_export_facts(manifest, export_report),
        "training": {
            "steps": result.generator_steps,
            "images_seen": result.images_seen,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "take": config.take,
            "seconds": result.seconds,
            "machine": dict(result.machine),
            "recipe": f"models/{name}/recipe.toml",
            "command": f"zoo train --recipe models/{name}/recipe.toml --out runs/{name}",
        },
        "metrics": None,
        "samples": samples,
        "references": references,
        "limits": limits or default_limits(dataset, record),
    }
    if evaluation is not None:
        card["metrics"] = card_metrics(evaluation, name, dataset)
    return card


def card_metrics(evaluation, name, dataset):
    """The card's `metrics` section from a `zoo evaluate --json` result."""
    protocol = evaluation["protocol"]
    return {
        "values": evaluation["metrics"],
        "protocol": protocol,
        "class_histogram": evaluation.get("class_histogram"),
        "source": evaluation.get("source"),
        "notes": evaluation.get("notes", []),
        "command": (
            f"zoo evaluate export/{name} --dataset {protocol.get('dataset', dataset)} "
            f"--n {protocol.get('n')} --seed {protocol.get('seed')} --json"
        ),
    }


def runtime_notes(card):
    """The card's "Runtimes" lines: where `generator.onnx` (and `generator.tflite`) run."""
    from zoo.export.targets import RUNTIMES

    lines = []
    if card["export"].get("onnx_target", "portable") == "portable":
        lines.append(
            "`generator.onnx` is a portable graph: opset 17 and only the operators of `zoo.export.targets`, which "
            f"{', '.join(RUNTIMES.values())} all run. The zoo's test suite runs it on `test_data_set_0/` within "
            "1e-4 in onnxruntime, the ONNX reference evaluator, OpenVINO, OpenCV DNN, tract and onnxruntime-web "
            "(wasm, and WebGPU where headless Chromium offers an adapter), and in PyTorch through onnx2torch "
            "before publishing; TensorRT is checked against its ONNX parser's operator list only. Latencies: "
            "`BENCHMARKS.md`, section Portability."
        )
    lines.append(
        "OpenVINO infers in bfloat16 by default on CPUs with AVX512-BF16 (errors near 3e-2): pass "
        '`{"INFERENCE_PRECISION_HINT": "f32"}` to `compile_model` for float32 results.'
    )
    if "litert" in card["export"]["formats"]:
        lines.append(
            f"`{card['export']['formats']['litert']}` (LiteRT, builtin operators only) is checked with "
            "`ai-edge-litert`'s interpreter; resize its inputs to the batch you run (`resize_tensor_input`)."
        )
    return [line for text in lines for line in (text, "")][:-1]


def card_export_facts(manifest, export_report):
    """The card's `export` section: formats, ONNX opset and target, parity figures, tool versions."""
    return {
        "formats": manifest["formats"],
        "opset": manifest.get("opset"),
        "onnx_target": manifest.get("onnx_target", "portable"),
        "tolerance": export_report.tolerance,
        "max_abs_error": {row.format: row.max_abs for row in export_report.rows if row.gated},
        "versions": manifest.get("versions", {}),
    }


def default_limits(dataset, record):
    height, width, channels = record.image_shape
    title = DATASETS.get(dataset, {}).get("title", dataset)
    colour = "greyscale" if channels == 1 else "colour"
    return (
        f"Draws {height}x{width} {colour} images like those of {title} and nothing else. Samples can show "
        "artefacts, blur and missing modes (compare recall and coverage). The metrics use the zoo's own "
        f"{title} classifier features: they compare zoo models with each other, not with Inception-FID "
        "figures in papers. Trained with a small CPU budget (see Training): a baseline, not the state of the art."
    )


def metrics_summary(metrics):
    """Flat `{metric: value, n, seed, dataset, command}` of a card's metrics (`{}` if none)."""
    if not metrics:
        return {}
    summary = {key: metrics["values"][key] for key in SUMMARY_METRICS if metrics["values"].get(key) is not None}
    protocol = metrics.get("protocol", {})
    summary.update({"n": protocol.get("n"), "seed": protocol.get("seed"), "dataset": protocol.get("dataset")})
    summary["command"] = metrics["command"]
    return summary


def machine_summary(machine):
    if not machine:
        return "not recorded"
    devices = ", ".join(machine.get("devices") or []) or "?"
    flags = f"; {', '.join(machine['cpu_flags'])}" if machine.get("cpu_flags") else ""
    return (
        f"{machine.get('cpu_count', '?')} CPU cores ({machine.get('processor') or '?'}{flags}), devices: {devices}, "
        f"TensorFlow {machine.get('tensorflow', '?')}"
    )


METRIC_ROWS = (
    ("fd", "Fréchet distance (classifier features)", "lower"),
    ("kid", "KID", "lower"),
    ("classifier_score", "classifier score", "higher"),
    ("precision", "precision (k=5)", "higher"),
    ("recall", "recall (k=5)", "higher"),
    ("density", "density (k=5)", "~1"),
    ("coverage", "coverage (k=5)", "higher"),
    ("conditional_accuracy", "conditional accuracy", "higher"),
    ("inception_fid", "Inception-FID", "lower"),
)


def render_readme(card, sizes):
    """The model card as Markdown (ONNX Model Zoo headings), from `card` and the files' sizes."""
    facts = _ReadmeFacts(card)
    lines = [
        *_description_section(card, facts),
        *_model_section(card, facts, sizes),
        *_inference_section(card, facts),
        *_dataset_section(card, facts),
        *_training_section(card),
        "## Validation",
        "",
        *_validation_lines(card["metrics"]),
        "",
        "## References",
        "",
        *[f"- {reference['title']}: {reference['url']}" for reference in card["references"]],
        "",
        "## Licence",
        "",
        f"Weights: {card['licence']}. Training data: {card['data_licence']}.",
        "",
        "## Limits",
        "",
        card["limits"],
        "",
    ]
    return "\n".join(lines)


class _ReadmeFacts:
    """What several README sections say: the card's generator record and the example's sizes."""

    def __init__(self, card):
        from zoo.record import GeneratorRecord

        self.record = GeneratorRecord.from_dict(card["model"], source=f"models/{card['name']}/card.json")
        self.parameters = card["model"]["parameters"]
        self.title = DATASETS.get(card["dataset"], {}).get("title", card["dataset"])
        self.conditional = self.record.conditional
        self.count = self.record.num_classes if self.conditional else 16


def _description_section(card, facts):
    name, record, samples = card["name"], facts.record, card.get("samples") or {}
    labels_example = f", labels=list(range({record.num_classes}))" if facts.conditional else ""
    formats = (
        "It is published as a Keras file, an ONNX file and a zipped TensorFlow SavedModel that compute the same "
        if "savedmodel" in card["export"]["formats"]
        else "It is published as a Keras file and an ONNX file (the TensorFlow SavedModel is built from the Keras "
        "file by `zoo.hub.download(..., format=\"savedmodel\")`) that compute the same "
    )
    return [
        f"# {name}",
        "",
        "<!-- Generated by `zoo publish` from card.json; do not edit by hand. -->",
        "",
        card["description"],
        "",
        f"![{name} samples](samples.png)",
        "",
        f"*{samples.get('layout', '')} samples from latent seed {samples.get('seed', SAMPLES_SEED)}.*",
        "",
        "## Description",
        "",
        f"A `{card['variant']}` generator ({facts.parameters:,} parameters) trained on {facts.title}"
        + (
            f" that draws an image of the class it is asked for ({record.num_classes} classes)."
            if facts.conditional
            else "."
        ),
        formats + f"images (checked within {card['export']['tolerance'].get('atol')}), with test vectors beside them.",
        "",
        "```python",
        "import zoo",
        f'g = zoo.pretrained("{name}")  # keras.Model, downloaded once, sha256-checked, cached',
        f'images = zoo.loading.load_sampler("{name}").generate({facts.count}, seed=0{labels_example})',
        "```",
        "",
        "```bash",
        f"zoo sample {name} --n 64 --out grid.png",
        f"zoo download {name} --format onnx   # prints the local path",
        "```",
        "",
    ]


def _model_section(card, facts, sizes):
    record = facts.record
    height, width, channels = record.image_shape
    low, high = record.output_range
    return [
        "## Model",
        "",
        "| | |",
        "|---|---|",
        f"| variant | `{card['variant']}` |",
        f"| parameters | {facts.parameters:,} |",
        f"| latent | `z` ~ N(0, 1), {record.latent_dim}-d |",
        f"| classes | {_class_list(record) if facts.conditional else 'unconditional'} |",
        f"| output | {height}x{width}x{channels} (NHWC) in [{low:g}, {high:g}] |",
        "| files | " + ", ".join(f"`{file}` ({size / 1e6:.2f} MB)" for file, size in sizes.items()) + " |",
        f"| ONNX graph | opset {card['export'].get('opset')}, {card['export'].get('onnx_target', 'portable')} "
        "target (see Runtimes) |",
        "| parity vs Keras (max abs) | "
        + ", ".join(f"{fmt} {error:.1e}" for fmt, error in card["export"]["max_abs_error"].items()) + " |",
        "",
    ]


def _inference_section(card, facts):
    record = facts.record
    feeds = (
        '{"z": z, "label": np.arange(%d) %% %d}' % (facts.count, record.num_classes) if facts.conditional else '{"z": z}'
    )
    lines = ["## Inference", "", "### Input", "", "| name | dtype | shape | meaning |", "|---|---|---|---|"]
    for port in card["io"]["inputs"]:
        meaning = (
            "latent vector, standard normal" if port["name"] == "z" else f"class index in 0..{record.num_classes - 1}"
        )
        lines.append(f"| `{port['name']}` | {port['dtype']} | {_shape(port['shape'])} | {meaning} |")
    lines += ["", "### Output", "", "| name | dtype | shape | meaning |", "|---|---|---|---|"]
    for port in card["io"]["outputs"]:
        lines.append(
            f"| `{port['name']}` | {port['dtype']} | {_shape(port['shape'])} | pixels in [-1, 1]; "
            "`(x + 1) * 127.5` gives uint8 |"
        )
    return lines + [
        "",
        "```python",
        "import numpy as np, onnxruntime as ort, zoo",
        f'session = ort.InferenceSession(zoo.hub.download("{card["name"]}", format="onnx"))',
        f"z = zoo.latent.sample_latent({facts.count}, {record.latent_dim}, seed=0)",
        f'images = session.run(["image"], {feeds})[0]',
        "```",
        "",
        "### Runtimes",
        "",
        *runtime_notes(card),
        "",
    ]


def _dataset_section(card, facts):
    dataset, training = card["dataset"], card["training"]
    known = DATASETS.get(dataset)
    return [
        "## Dataset",
        "",
        f"{facts.title} (`{dataset}`), training split"
        + (f" ({known['train_images']:,} images)" if known else "")
        + (f", first {training['take']:,} images only" if training.get("take") else "")
        + f". Licence: {card['data_licence']}."
        + (f" Source: {known['url']}" if known else ""),
        "",
    ]


def _training_section(card):
    training = card["training"]
    return [
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| steps | {_number(training.get('steps'))} generator updates, {_number(training.get('images_seen'))} images seen |",
        f"| epochs, batch size, seed | {training.get('epochs')}, {training.get('batch_size')}, {training.get('seed')} |",
        f"| wall-clock time | {_duration(training.get('seconds'))} |",
        f"| machine | {machine_summary(training.get('machine'))} |",
        "| recipe | [`recipe.toml`](recipe.toml) |",
        "",
        "```bash",
        training["command"],
        "```",
        "",
    ]


def _validation_lines(metrics):
    if not metrics:
        return ["Not measured for this publication."]
    values, protocol = metrics["values"], metrics.get("protocol", {})
    lines = ["| metric | value | better |", "|---|---|---|"]
    for key, label, better in METRIC_ROWS:
        if values.get(key) is not None:
            lines.append(f"| {label} | {values[key]:.4g} | {better} |")
    classifier = protocol.get("classifier") or {}
    lines += [
        "",
        f"{protocol.get('n')} samples (latent seed {protocol.get('seed')}) against the {protocol.get('dataset')} "
        f"{protocol.get('reference_split', 'test')} split, in the feature space of the zoo's published classifier"
        + (f" (sha256 {classifier['sha256'][:16]}...)" if classifier.get("sha256") else "")
        + "; the full protocol is in `card.json`. Reproduce with:",
        "",
        "```bash",
        metrics["command"],
        "```",
    ]
    return lines + _truncation_lines(metrics.get("truncation"))


def _truncation_lines(sweep):
    """The card's precision/recall-against-`psi` plot and table (`zoo.metrics.truncation_sweep`), if measured."""
    if not sweep:
        return []
    lines = [
        "",
        "### Truncation",
        "",
        f"![precision and recall against truncation psi]({sweep.get('plot', 'truncation.png')})",
        "",
        "| psi | FD | precision | recall | coverage |",
        "|---|---|---|---|---|",
    ]
    for row in sweep["rows"]:
        lines.append(
            f"| {row['psi']:g} | {row['fd']:.4g} | {row['precision']:.3f} | {row['recall']:.3f} | {row['coverage']:.3f} |"
        )
    return lines + [
        "",
        f"{sweep['n']} samples per row (latent seed {sweep['seed']}, latents scaled by psi; psi = 1 is the "
        "untruncated generator). Reproduce a row with:",
        "",
        "```bash",
        sweep["command"],
        "```",
    ]


def _class_list(record):
    return f"{record.num_classes}: " + ", ".join(f"{index} {label}" for index, label in enumerate(record.classes))


def _shape(shape):
    return "[" + ", ".join(str(dim) for dim in shape) + "]"


def _number(value):
    return f"{value:,}" if isinstance(value, int) else "?"


def _duration(seconds):
    if not isinstance(seconds, (int, float)):
        return "not recorded"
    minutes = round(seconds / 60)
    text = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{seconds / 60:.1f} min"
    return f"{text} ({seconds:,.0f} s)"


def render_samples(generator_path, model, name):
    """PNG bytes of the card's grid and a description of it.

    Unconditional: 8 x 8 images from latent seed 0. Conditional: one row per
    class (8 columns), latent seed 0.
    """
    import keras

    from zoo.images import encode_png, make_grid
    from zoo.record import GeneratorRecord
    from zoo.sampling import Sampler

    generator = keras.saving.load_model(generator_path, compile=False)
    sampler = Sampler.from_keras(generator, record=GeneratorRecord.from_dict(model, source=generator_path))
    if sampler.conditional:
        labels = [label for label in range(sampler.num_classes) for _ in range(SAMPLES_COLUMNS)]
        images = sampler.generate(len(labels), labels=labels, seed=SAMPLES_SEED)
        layout = f"{sampler.num_classes} rows (one per class, in class order) x {SAMPLES_COLUMNS}"
    else:
        images = sampler.generate(SAMPLES_COLUMNS * SAMPLES_COLUMNS, seed=SAMPLES_SEED)
        layout = f"{SAMPLES_COLUMNS} x {SAMPLES_COLUMNS}"
    grid = make_grid(images, columns=SAMPLES_COLUMNS)
    command = f"zoo sample {name} --n {len(images)} --seed {SAMPLES_SEED} --columns {SAMPLES_COLUMNS}"
    if sampler.conditional:
        command += " --labels " + ",".join(str(label) for label in labels)
    return encode_png(grid), {"file": "samples.png", "seed": SAMPLES_SEED, "layout": layout, "command": command}

