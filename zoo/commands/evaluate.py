"""`zoo evaluate MODEL`: sample-quality metrics of a generator, reproducibly.

Example:

    zoo evaluate runs/dcgan/model.keras --dataset fashion_mnist --n 10000 --seed 0 --json
    zoo evaluate export/my-cgan                 # an export folder (generator.onnx + manifest.json)
    zoo evaluate my-dcgan.onnx --out scores.json
    zoo evaluate dcgan-fashion-mnist --n 2000    # a pretrained name (zoo list --pretrained)
    zoo evaluate --reference fashion_mnist      # train vs test, one image repeated, noise
"""

HELP = "score a generator's samples (FD, KID, precision/recall, ...) against a data set"


def register(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description=(
            "Score N samples of a generator (a GAN .keras file, an .onnx generator, an export "
            "folder or a pretrained name) against the data set's test split, in the feature space of the data set's "
            "published classifier: Fréchet distance, KID, classifier score, precision, recall, "
            "density, coverage (k=5) and, for conditional models, the classifier's accuracy on the "
            "requested labels. --reference DATASET scores real train images, one repeated image and "
            "noise instead, to place a number."
        ),
    )
    parser.add_argument(
        "model", nargs="?", help="a .keras GAN, an .onnx generator, an export folder or a pretrained name"
    )
    parser.add_argument("--dataset", default="fashion_mnist", help="reference data set (default: fashion_mnist)")
    parser.add_argument("--reference", metavar="DATASET", help="report reference figures of DATASET instead of scoring a model")
    parser.add_argument("--n", type=int, default=10_000, help="number of samples (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed of the samples (default: 0)")
    parser.add_argument(
        "--truncation",
        type=float,
        metavar="PSI",
        help="score the truncated generator: latents scaled by PSI in (0, 1] (default: not truncated)",
    )
    parser.add_argument("--batch-size", type=int, default=500, help="samples generated at once (default: 500)")
    parser.add_argument("--classifier", help="classifier .keras or folder (default: the data set's published one)")
    parser.add_argument(
        "--inception",
        action="store_true",
        help="also compute Inception-FID if Keras' InceptionV3 weights are in the local cache (slow on CPU)",
    )
    parser.add_argument("--data-dir", help="folder with local data files")
    parser.add_argument(
        "--providers", metavar="LIST",
        help="onnxruntime execution providers of an ONNX model, comma-separated, e.g. "
        "CUDAExecutionProvider,CPUExecutionProvider (default: the best available, CPU last)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--out", help="also write the JSON to this file")
    parser.set_defaults(handler=run)


def run(args):
    from zoo.errors import ZooError

    if (args.model is None) == (args.reference is None):
        raise ZooError(
            "Pass either a MODEL to score or --reference DATASET. "
            f"Received: model={args.model!r}, --reference={args.reference!r}."
        )
    if args.n is None or args.n < 1:
        raise ZooError(f"--n must be a positive integer. Received: --n {args.n}.")
    if args.batch_size < 1:
        raise ZooError(f"--batch-size must be a positive integer. Received: --batch-size {args.batch_size}.")

    from zoo.metrics import evaluation, report

    if args.reference is not None:
        figures = evaluation.reference_figures(
            args.reference,
            n=args.n,
            seed=args.seed,
            classifier=args.classifier,
            batch_size=args.batch_size,
            data_dir=args.data_dir,
        )
        payload = {name: result.to_dict() for name, result in figures.items()}
        text = report.format_references(figures)
    else:
        result = evaluation.evaluate(
            args.model,
            args.dataset,
            n=args.n,
            seed=args.seed,
            classifier=args.classifier,
            batch_size=args.batch_size,
            inception=args.inception,
            data_dir=args.data_dir,
            truncation=args.truncation,
            providers=args.providers,
        )
        payload = result.to_dict()
        text = report.format_result(result)
    json_text = report.to_json(payload)
    if args.out:
        from zoo.files import write_bytes_atomically

        write_bytes_atomically(args.out, (json_text + "\n").encode("utf-8"))
    print(json_text if args.json else text)
    return 0
