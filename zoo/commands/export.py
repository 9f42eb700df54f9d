"""`zoo export`: a trained generator as a verified Keras/SavedModel/ONNX/LiteRT folder.

Example:

    zoo export runs/dcgan/model.keras --out export/my-dcgan
    zoo export dcgan-fashion-mnist --out export/dcgan-ort --target onnxruntime   # a pretrained name
    zoo export runs/dcgan/model.keras --out export/my-dcgan-ort --target onnxruntime
    zoo export runs/cgan/model.keras --out export/my-cgan --class-names "$(cat classes.txt)" --precision fp16
"""

HELP = "export a generator to SavedModel, portable ONNX and LiteRT, checked for parity"


def register(subparsers):
    parser = subparsers.add_parser(
        "export",
        help=HELP,
        description=(
            "Export the generator of a zoo GAN (or a generator-only .keras with inputs "
            "z[/label] and output image) as generator.keras, saved_model/, a portable "
            "generator.onnx and generator.tflite with test vectors and manifest.json. "
            "Exits 0 only if SavedModel, onnxruntime and LiteRT match Keras within 1e-5."
        ),
    )
    parser.add_argument("model", help="a GAN model.keras written by `zoo train`, a generator .keras, or a pretrained name")
    parser.add_argument("--out", required=True, help="artifact folder to create")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument(
        "--target",
        default="portable",
        help=(
            "ONNX graph: 'portable' (default: opset 17, only operators that onnxruntime, onnxruntime-web, "
            "OpenVINO, OpenCV DNN, tract, TensorRT and onnx2torch all run) or 'onnxruntime' (opset 18, "
            "Col2Im: tuned for onnxruntime's CPU kernels, not for publishing)"
        ),
    )
    parser.add_argument(
        "--opset", type=int, default=None, choices=(17, 18), help="ONNX opset (default: the target's, 17 or 18)"
    )
    parser.add_argument(
        "--precision",
        choices=("fp16", "int8"),
        default=None,
        help="also write generator.fp16.onnx or generator.int8.onnx (error reported, not gated)",
    )
    parser.add_argument(
        "--no-litert", action="store_true", help="do not write generator.tflite (LiteRT, builtin operators only)"
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
    from zoo.export.onnx_export import check_opset
    from zoo.export.targets import get_target
    from zoo.checks import check_int, check_seed

    check_int("--training-steps", args.training_steps, 0, optional=True)
    check_seed("--seed", args.seed)
    target = get_target(args.target)  # before the model loads: a typo costs no time
    if args.opset is not None:
        check_opset(args.opset, target)
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
        target=args.target,
        opset=args.opset,
        force=args.force,
        precision=args.precision,
        seed=args.seed,
        protected=(args.model,),
        litert=not args.no_litert,
    )
    print(report)
    return 0
