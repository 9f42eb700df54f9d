"""`zoo sample MODEL`: write a grid of generated images to a PNG file.

MODEL is a GAN model.keras, a generator-only .keras (e.g. an export's
generator.keras), an .onnx generator or export folder (run with onnxruntime,
without TensorFlow) or a pretrained name (`zoo list --pretrained`), downloaded
once and verified. `--truncation PSI` draws `z` as PSI times the seed's standard-normal
latents (the truncation trick: more typical, less varied images), the same `z` as
`GAN.generate(..., truncation=PSI)`, `zoo serve` and the web page give.
"""


MAX_IMAGES = 10_000
"""Most images one `zoo sample` grid holds (a 100 x 100 grid; 64 x 64 x 3 images make a ~130 MB PNG)."""


def register(subparsers):
    parser = subparsers.add_parser("sample", help="generate a PNG grid from a trained model")
    parser.add_argument(
        "model", help="a model.keras written by `zoo train`, a generator .keras, an .onnx file or export folder, "
        "or a pretrained name"
    )
    parser.add_argument("--n", type=int, default=64, help=f"number of images, 1..{MAX_IMAGES} (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed, 0..2**32-1 (default: 0)")
    parser.add_argument("--labels", help="conditional models: one int for all, or N comma-separated ints (default: cycle classes)")
    parser.add_argument(
        "--truncation", type=float, metavar="PSI",
        help="truncation trick: scale the latents by PSI in (0, 1], fewer odd images, less variety (default: 1, none)",
    )
    parser.add_argument("--columns", type=int, help="images per row, 1..N (default: square grid)")
    parser.add_argument("--out", default="grid.png", help="PNG file to write (default: grid.png)")
    parser.add_argument(
        "--providers", metavar="LIST",
        help="onnxruntime execution providers of an ONNX model, comma-separated "
        "(default: the best available, CPU last)",
    )
    parser.set_defaults(handler=run)


def parse_labels(text):
    """Parses `"3"` or `"0,1,2"` into an int or a list of ints."""
    from zoo.errors import ZooError

    if text is None:
        return None
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ZooError(
            f"--labels takes integers separated by commas. Received: --labels {text!r}."
        ) from None
    return values[0] if len(values) == 1 else values


def run(args):
    from zoo.files import check_writable_file
    from zoo.images import save_grid
    from zoo.latent import check_count, check_truncation
    from zoo.loading import load_sampler
    from zoo.checks import check_int, check_seed

    n = check_count(args.n, maximum=MAX_IMAGES)
    check_seed("--seed", args.seed)
    truncation = check_truncation(args.truncation, "--truncation")
    check_int("--columns", args.columns, 1, n, optional=True)
    check_writable_file(args.out, "--out")
    labels = parse_labels(args.labels)
    if args.providers is not None:
        from zoo.sessions import check_providers

        check_providers(args.providers)  # before any model loads: a typo costs no time
    sampler = load_sampler(args.model, providers=args.providers)
    if labels is None and sampler.num_classes is not None:
        labels = [i % sampler.num_classes for i in range(n)]
    images = sampler.generate(n, labels=labels, seed=args.seed, truncation=truncation)
    save_grid(images, args.out, columns=args.columns)
    print(f"zoo: wrote {n} images to {args.out}")
    return 0
