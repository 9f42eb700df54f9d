"""`zoo export`: a trained generator as a verified Keras/SavedModel/ONNX folder.

Example:

    zoo export runs/dcgan/model.keras --out export/my-dcgan
    zoo export runs/cgan/model.keras --out export/my-cgan --class-names "$(cat classes.txt)" --precision fp16
"""

HELP = "export a generator to SavedModel + ONNX, checked for parity"


def register(subparsers):
    parser = subparsers.add_parser(
        "export",
        help=HELP,
        description=(
            "Export the generator of a zoo GAN (or a generator-only .keras with inputs "
            "z[/label] and output image) as generator.keras, saved_model/ and "
            "generator.onnx with test vectors and manifest.json. Exits 0 only if "
            "SavedModel and onnxruntime match Keras within 1e-5."
        ),
    )
    parser.add_argument("model", help="a GAN model.keras written by `zoo train`, or a generator .keras")
    parser.add_argument("--out", required=True, help="artifact folder to create")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--opset", type=int, default=18, choices=(17, 18), help="ONNX opset (default 18)")
    parser.add_argument(
        "--precision",
        choices=("fp16", "int8"),
        default=None,
        help="also write generator.fp16.onnx or generator.int8.onnx (error reported, not gated)",
    )
    parser.add_argument("--dataset", default=None, help="training data set name, for the manifest")
    parser.add_argument("--training-steps", type=int, default=None, help="training steps, for the manifest")
    parser.add_argument(
        "--class-names",
        default=None,
        help="comma-separated class names of a conditional model, for the metadata",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the parity inputs (default 0)")
    parser.set_defaults(handler=run)


def run(args):
    from zoo.export.exporter import export_generator
    from zoo.export.loading import load_exportable

    model = load_exportable(args.model)
    class_names = None
    if args.class_names:
        class_names = [name.strip() for name in args.class_names.split(",")]
    report = export_generator(
        model,
        args.out,
        dataset=args.dataset,
        training_steps=args.training_steps,
        class_names=class_names,
        opset=args.opset,
        force=args.force,
        precision=args.precision,
        seed=args.seed,
    )
    print(report)
    return 0
