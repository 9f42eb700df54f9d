"""`export_generator`: a GAN's generator as a verified artifact folder.

The folder is built in a temporary sibling and renamed into place only when every
format passed the parity gate, so a failed export leaves nothing behind:

    my-dcgan/
      generator.keras      the generator alone (float32)
      saved_model/         TensorFlow SavedModel, signature `serving_default`
      generator.onnx       ONNX, portable (opset 17) unless target="onnxruntime"; metadata in `metadata_props`
      generator.tflite     LiteRT, builtin operators only, the same metadata (JSON entry "zoo")
      generator.fp16.onnx  only with precision="fp16" (int8: generator.int8.onnx)
      test_data_set_0/     input_0.pb (z), input_1.pb (label), output_0.pb (image)
      manifest.json        hashes, ports, versions, model facts, parity figures
"""

import dataclasses
import os
import time

from zoo.errors import ZooError
from zoo.export import parity as parity_module
from zoo.record import IMAGE_NAME

PRECISIONS = ("fp16", "int8")


@dataclasses.dataclass
class ExportReport:
    """The outcome of `export_generator`.

    Attributes:
        out_dir: the artifact folder.
        rows: `ParityRow`s, one per format and batch size (gated).
        precision_rows: reduced-precision ONNX files against float32 (reported).
        paths: `{format: absolute path}` of the model files and manifest.
        opset: the ONNX opset.
        target: the ONNX export target (`"portable"` or `"onnxruntime"`).
        tolerance: `{"atol", "rtol"}` of the gate.
        onnx_graph: op counts before/after the ONNX rewrites.
        seconds: wall time of the export.
    """

    out_dir: str
    rows: list
    precision_rows: list = dataclasses.field(default_factory=list)
    paths: dict = dataclasses.field(default_factory=dict)
    opset: int = 17
    target: str = "portable"
    tolerance: dict = dataclasses.field(default_factory=dict)
    onnx_graph: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self):
        return all(row.passed for row in self.rows if row.gated)

    def max_error(self, format_name):
        """Largest absolute error of `format_name` over all batch sizes."""
        errors = [row.max_abs for row in self.rows + self.precision_rows if row.format == format_name]
        if not errors:
            formats = sorted({row.format for row in self.rows + self.precision_rows})
            raise KeyError(f"No parity rows for format {format_name!r}. Available: {', '.join(formats)}.")
        return max(errors)

    def __str__(self):
        lines = [
            parity_module.format_table(
                self.rows + self.precision_rows,
                title=(
                    f"Parity against Keras (atol={self.tolerance.get('atol')}, "
                    f"rtol={self.tolerance.get('rtol')}), {self.target} ONNX graph, opset {self.opset}:"
                ),
            ),
            "",
            f"{'passed' if self.passed else 'FAILED'}: {self.out_dir} ({self.seconds:.1f} s)",
        ]
        return "\n".join(lines)


def export_generator(
    gan_or_generator, out_dir, *, dataset=None, training_steps=None, class_names=None, target="portable",
    opset=None, force=False, precision=None, batch_sizes=(1, 7, 64), seed=0, protected=(), litert=True,
):
    """Exports a generator as Keras, SavedModel, ONNX and LiteRT, checked for parity.

    Args:
        gan_or_generator: a `zoo.GAN`, or a generator `keras.Model` with inputs
            named `z` (and `label`) and output `image`.
        out_dir: the artifact folder to create.
        dataset: name of the training data set, for the manifest.
        training_steps: training steps, for the manifest. Defaults to the GAN's
            generator optimizer iterations when it was trained.
        class_names: names of the classes of a conditional model.
        target: the ONNX target (`zoo.export.targets`): `"portable"`, a graph
            of operators that every listed runtime runs, or `"onnxruntime"`,
            tuned for onnxruntime's CPU kernels (`Col2Im`). The graph is
            checked against the target's operator set. Defaults to
            `"portable"`.
        opset: ONNX opset. Defaults to the target's (17 portable, 18
            onnxruntime); the portable target allows 17 only.
        force: replace an existing `out_dir`. Defaults to `False`.
        precision: also write a reduced-precision ONNX file: `"fp16"` or
            `"int8"`; its error against float32 is reported, not gated.
            Defaults to `None`.
        batch_sizes: batch sizes of the parity gate. Defaults to `(1, 7, 64)`.
        seed: seed of the random parity inputs and test vectors. Defaults to `0`.
        protected: paths that `force` must never delete (the CLI passes the
            input model). Defaults to `()`.
        litert: also write `generator.tflite` (LiteRT, builtin operators
            only; a generator that would need Flex ops fails the export with
            one line), gated like the other formats. Defaults to `True`.

    Returns:
        An `ExportReport`; `print(report)` shows the parity table.

    Raises:
        ZooError: for a bad model or output folder, or when a format disagrees
            with Keras beyond atol = rtol = 1e-5 (nothing is left behind).

    Example:

    >>> from zoo.export import export_generator
    >>> report = export_generator(gan, "export/my-dcgan")
    >>> report.passed, report.max_error("onnxruntime") < 1e-5
    (True, True)
    """
    from zoo.export.signature import resolve_generator
    from zoo.files import atomic_path

    started = time.perf_counter()
    target, opset = _checked_options(target, opset, precision)
    info = resolve_generator(gan_or_generator, class_names=class_names, dataset=dataset, training_steps=training_steps)
    out_dir = _prepared_output(out_dir, force, protected)
    try:
        with atomic_path(out_dir, directory=True) as temporary:
            report = _export_into(temporary, info, target, opset, precision, batch_sizes, seed, litert)
    except OSError as error:
        raise ZooError(f"Cannot write the export to {out_dir}: {error.strerror or error}.") from error
    report.out_dir = out_dir
    report.paths = {name: os.path.join(out_dir, relative) for name, relative in report.paths.items()}
    report.seconds = time.perf_counter() - started
    return report


def _checked_options(target, opset, precision):
    """`(Target, opset)` after checking the target, the opset and the precision."""
    from zoo.export.onnx_export import check_opset
    from zoo.export.targets import get_target

    target = get_target(target)
    opset = check_opset(target.opset if opset is None else opset, target)
    if precision is not None and precision not in PRECISIONS:
        raise ZooError(
            f"Unknown precision '{precision}'. Received: precision={precision!r}. "
            f"Available: {', '.join(PRECISIONS)} (float32 is always exported)."
        )
    return target, opset


def _prepared_output(out_dir, force, protected):
    """`out_dir` made absolute, once what a killed export left beside it is gone and it may be written."""
    from zoo.files import remove_dead_temporaries

    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.isdir(os.path.dirname(out_dir)):  # what a killed export left, before --out is judged
        remove_dead_temporaries(os.path.dirname(out_dir), os.path.basename(out_dir))
    check_output_folder(out_dir, force, protected)
    return out_dir


def check_output_folder(out_dir, force, protected=()):
    """`ZooError` unless `out_dir` can be created (or, with `force`, replaced).

    `force` replaces only a folder that is a zoo export: one with a readable
    `manifest.json` that lists every file in it, so that nothing the user put
    there is lost; and never a folder that holds one of the `protected` paths
    (the model being exported).
    """
    from zoo.export.manifest import FILENAME, folder_paths, read_manifest
    from zoo.files import nearest_existing

    if os.path.lexists(out_dir):
        if os.path.islink(out_dir) or not os.path.isdir(out_dir):
            raise ZooError(f"{out_dir} exists and is not a folder. Choose another --out.")
        if not force:
            raise ZooError(
                f"{out_dir} already exists. Pass --force (force=True) to replace it, or choose another --out."
            )
        for path in protected:
            path = os.path.realpath(os.fspath(path))
            if os.path.commonpath([path, os.path.realpath(out_dir)]) == os.path.realpath(out_dir):
                raise ZooError(
                    f"--force would replace {out_dir}, which holds the model being exported ({path}). "
                    "Choose another --out."
                )
        try:
            listed = set(read_manifest(out_dir)["files"]) | {FILENAME}
        except ZooError:
            raise ZooError(
                f"--force replaces only a folder written by `zoo export`, and {out_dir} has no valid manifest.json. "
                "Nothing was changed; choose another --out."
            ) from None
        extra = sorted(folder_paths(out_dir) - listed)
        if extra:
            raise ZooError(
                f"--force would delete {len(extra)} file(s) in {out_dir} that its manifest.json does not list "
                f"(first: {extra[0]}). Nothing was changed; move them away or choose another --out."
            )
    ancestor = nearest_existing(os.path.dirname(out_dir))
    if not os.path.isdir(ancestor) or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ZooError(f"Cannot write to {out_dir}: {ancestor} is not a writable folder.")


def _export_into(folder, info, target, opset, precision, batch_sizes, seed, litert_file=True):
    """Writes every file of the artifact into `folder` and returns its `ExportReport` (paths relative)."""
    from zoo.export import runtime
    from zoo.export.manifest import FILENAME, build_manifest, write_manifest
    from zoo.export.test_vectors import write_test_vectors

    reference, paths, graph_facts = _write_formats(folder, info, target, opset, litert_file)
    cases = parity_module.parity_cases(info.record, batch_sizes, seed)
    expected = [(batch, feeds, runtime.run_keras(reference, feeds)) for batch, feeds in cases]
    rows = _parity_rows(folder, paths, expected)
    check_parity(rows)
    precision_rows = []
    if precision is not None:
        paths[f"onnx_{precision}"] = f"generator.{precision}.onnx"
        precision_rows = _precision_rows(folder, paths["onnx"], paths[f"onnx_{precision}"], precision, expected)
    _, vector_feeds, vector_image = _test_vector_case(expected)
    write_test_vectors(folder, vector_feeds, {IMAGE_NAME: vector_image})
    tolerance = {"atol": parity_module.ATOL, "rtol": parity_module.RTOL}
    manifest = build_manifest(
        folder, info.record, opset=opset, target=target.name, parity=rows, tolerance=tolerance,
        precision_errors=precision_rows, formats=paths, onnx_graph=graph_facts,
    )
    write_manifest(folder, manifest)
    paths["manifest"] = FILENAME
    return ExportReport(
        out_dir=folder, rows=rows, precision_rows=precision_rows, paths=paths, opset=opset, target=target.name,
        tolerance=tolerance, onnx_graph=graph_facts,
    )


def _write_formats(folder, info, target, opset, litert_file):
    """Writes the Keras, SavedModel, ONNX (and LiteRT) files; returns `(reference, paths, ONNX graph facts)`.

    The reference is the float32 generator the parity gate compares every
    format with (a float32 copy of a `mixed_float16` one).
    """
    from zoo.export import tracing

    generator = info.generator
    reference = tracing.float32_copy(generator) if tracing.needs_float32_copy(generator) else generator
    paths = {"keras": "generator.keras", "savedmodel": "saved_model", "onnx": "generator.onnx"}
    reference.save(os.path.join(folder, paths["keras"]))
    traced_model = tracing.export_copy(reference)
    function = tracing.serving_function(traced_model, info.record)
    tracing.save_saved_model(traced_model, function, os.path.join(folder, paths["savedmodel"]))
    graph_facts = _write_onnx(function, info.record, target, opset, os.path.join(folder, paths["onnx"]))
    if litert_file:
        from zoo.export import litert

        paths["litert"] = litert.FILENAME  # builtin ops only; a Flex op is a one-line ZooError
        litert.convert(function, info.record, os.path.join(folder, paths["litert"]))
    return reference, paths, graph_facts


def _write_onnx(function, record, target, opset, path):
    """Converts, rewrites for `target`, stamps and checks the ONNX file at `path`; returns the graph facts."""
    from zoo.export import onnx_export, onnx_optimize, targets

    model = onnx_export.convert(function, record, opset)
    model, graph_facts = onnx_optimize.optimize(model, target)
    onnx_export.finalize(model, record, {"export_target": target.name})
    onnx_export.check(model)
    targets.check_graph(model, target)
    with open(path, "wb") as file:
        file.write(model.SerializeToString())
    return graph_facts


def _parity_rows(folder, paths, expected):
    """Gated `ParityRow`s of every written format against the Keras reference outputs."""
    from zoo import sessions
    from zoo.export import runtime

    def path(key):
        return os.path.join(folder, paths[key])

    rows = []
    runners = {
        "savedmodel": _bind(runtime.run_saved_model, runtime.load_saved_model(path("savedmodel"))),
        "onnxruntime": _bind(runtime.run_onnx, sessions.onnx_session(path("onnx"))),
    }
    if "litert" in paths:
        runners["litert"] = _bind(runtime.run_litert, sessions.litert_interpreter(path("litert")))
    try:
        runners["keras (reloaded)"] = _bind(runtime.run_keras, _load_keras(path("keras")))
    except Exception as error:  # an unregistered custom layer, for instance.
        problem = f"generator.keras does not reload ({type(error).__name__}: {str(error).splitlines()[0][:150]})"
        rows.append(parity_module.ParityRow("keras (reloaded)", 0, float("inf"), float("inf"), False, True, problem))
    for name, run in runners.items():
        for batch, feeds, image in expected:
            rows.append(parity_module.compare(name, run(feeds), image, batch))
    return parity_module.merge(rows)


def _precision_rows(folder, source, relative, precision, expected):
    """Writes the reduced-precision ONNX file `relative` and returns its (reported) rows."""
    from zoo.export import runtime
    from zoo.export.precision import reduce_precision
    from zoo.sessions import onnx_session

    reduce_precision(os.path.join(folder, source), os.path.join(folder, relative), precision)
    session = onnx_session(os.path.join(folder, relative))
    rows = [
        parity_module.compare(f"onnxruntime {precision}", runtime.run_onnx(session, feeds), image, batch, gated=False)
        for batch, feeds, image in expected
    ]
    return parity_module.merge(rows)


def check_parity(rows):
    """Raises a one-line `ZooError` naming the first gated row that failed."""
    failed = [row for row in rows if row.gated and not row.passed]
    if failed:
        first = failed[0]
        raise ZooError(
            f"Export parity failed: {first.format} at batch {first.batch_size}: {first.problem} "
            f"({len(failed)} of {len(rows)} checks failed); nothing was written."
        )


def _test_vector_case(expected):
    """The case stored as test vectors: batch 7 if present, else the smallest > 1."""
    by_batch = {batch: (batch, feeds, image) for batch, feeds, image in expected}
    if 7 in by_batch:
        return by_batch[7]
    larger = [batch for batch in by_batch if batch > 1]
    return by_batch[min(larger) if larger else min(by_batch)]


def _bind(function, handle):
    return lambda feeds: function(handle, feeds)


def _load_keras(path):
    import keras

    return keras.saving.load_model(path, compile=False)
