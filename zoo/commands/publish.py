"""`zoo publish RUN_DIR --name NAME`: a finished run as a pretrained, downloadable generator.

Example:

    zoo publish runs/dcgan-fashion-mnist --name dcgan-fashion-mnist
    zoo publish runs/cgan-fashion-mnist --name cgan-fashion-mnist --evaluation eval.json --force
    zoo publish --rebuild-catalogue            # regenerate export/manifest.json and zoo/catalogue.json
    zoo publish --reexport dcgan-fashion-mnist # rebuild export/NAME/ from its generator.keras (same weights)
    zoo publish --reexport all
    zoo publish --release-assets assets/       # flat copies for a GitHub release
"""

HELP = "publish a trained run: export/<name>/, models/<name>/ card, catalogue"


def register(subparsers):
    parser = subparsers.add_parser(
        "publish",
        help=HELP,
        description=(
            "Export a finished run's generator into export/NAME/ (keras, onnx, saved_model.zip, test "
            "vectors, manifest; parity, `zoo verify` and the size limits per file and for export/ checked), "
            "write the model card models/NAME/ (card.json, README.md, samples.png, recipe.toml) and "
            "regenerate export/manifest.json and zoo/catalogue.json."
        ),
    )
    parser.add_argument("run_dir", nargs="?", help="a run folder written by `zoo train` (model.keras + run.json)")
    parser.add_argument("--name", help="the public name, e.g. dcgan-fashion-mnist")
    parser.add_argument("--recipe", help="the recipe that trained the run (default: models/NAME/recipe.toml)")
    parser.add_argument("--evaluation", help="metrics JSON from `zoo evaluate --json` (default: compute them)")
    parser.add_argument("--n-eval", type=int, default=10_000, help="samples for the metrics; 0 skips them (default 10000)")
    parser.add_argument("--eval-seed", type=int, default=0, help="latent seed of the metrics' samples (default 0)")
    parser.add_argument("--description", help="one sentence (default: the recipe's description)")
    parser.add_argument("--data-licence", help="licence of the training data (default: known for fashion_mnist)")
    parser.add_argument("--limits", help="the model card's Limits text (default: generated)")
    parser.add_argument("--force", action="store_true", help="replace an existing publication of NAME")
    parser.add_argument("--repo-root", help="repository to publish into (default: this checkout)")
    parser.add_argument("--rebuild-catalogue", action="store_true", help="only regenerate export/manifest.json and zoo/catalogue.json")
    parser.add_argument("--release-assets", metavar="DIR", help="only copy the published files to DIR/<name>--<file> for a release")
    parser.add_argument(
        "--reexport",
        metavar="NAME",
        action="append",
        help=(
            "rebuild export/NAME/ from its own generator.keras with the current exporter (same weights, "
            "test vectors and metrics checked); repeat it, or pass 'all'"
        ),
    )
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="with --reexport: draw the card's samples and measure its metrics again (same n and seed)",
    )
    parser.set_defaults(handler=run)


def run(args):
    from zoo import publish
    from zoo.errors import ZooError

    if args.reexport:
        return reexport(args)
    if args.remeasure:
        raise ZooError("--remeasure goes with --reexport NAME.")
    if args.rebuild_catalogue or args.release_assets:
        if args.run_dir or args.name:
            raise ZooError("--rebuild-catalogue and --release-assets take no RUN_DIR or --name.")
        if args.rebuild_catalogue:
            catalogue = publish.rebuild_catalogue(args.repo_root)
            print(f"zoo: catalogue rebuilt: {len(catalogue['models'])} published generators")
        if args.release_assets:
            written = publish.release_assets(args.repo_root, args.release_assets)
            print(f"zoo: wrote {len(written)} release assets to {args.release_assets}")
        return 0
    if not args.run_dir or not args.name:
        raise ZooError("Pass a RUN_DIR and --name NAME (e.g. `zoo publish runs/dcgan --name dcgan-fashion-mnist`).")
    if args.n_eval < 0:
        raise ZooError(f"--n-eval must be 0 or a positive integer. Received: --n-eval {args.n_eval}.")
    report = publish.publish_run(
        args.run_dir,
        args.name,
        recipe=args.recipe,
        evaluation=args.evaluation,
        repo_root=args.repo_root,
        n_eval=args.n_eval,
        eval_seed=args.eval_seed,
        description=args.description,
        data_licence=args.data_licence,
        limits=args.limits,
        force=args.force,
    )
    print(report)
    return 0


def reexport(args):
    from zoo import publish
    from zoo.errors import ZooError
    from zoo.hub.catalogue import check_name
    from zoo.publish.catalogue import published_names, repository_root

    if args.run_dir or args.name or args.rebuild_catalogue or args.release_assets:
        raise ZooError("--reexport takes no RUN_DIR, --name, --rebuild-catalogue or --release-assets.")
    root = repository_root(args.repo_root)
    published = published_names(root)
    names = published if "all" in args.reexport else list(dict.fromkeys(args.reexport))
    for name in names:
        check_name(name)
        if name not in published:
            raise ZooError(f"'{name}' is not published. Received: --reexport {name}. Published: {', '.join(published)}.")
    for name in names:
        result = publish.reexport_published(name, repo_root=root, remeasure=args.remeasure)
        sizes = ", ".join(f"{file} {size / 1e6:.2f} MB" for file, size in result["sizes"].items())
        parity = ", ".join(f"{runtime} {error:.1e}" for runtime, error in result["parity"].items())
        print(
            f"re-exported {name} ({result['seconds']:.1f} s): {sizes}; verify: {parity}; "
            f"old test vectors reproduced within {result['max_output_change']:.1e}; export/ now {result['export_bytes'] / 1e6:.1f} MB"
        )
    return 0
