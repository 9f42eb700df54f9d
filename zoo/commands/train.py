"""`zoo train VARIANT`: train a variant and keep a resumable run folder."""


def register(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a GAN variant",
        description="Train a GAN variant; re-run the same command to resume an interrupted run.",
    )
    parser.add_argument("variant", help="variant name (see `zoo list`)")
    parser.add_argument("--dataset", default="fashion_mnist", help="data set name or image folder (default: fashion_mnist)")
    parser.add_argument("--data-dir", help="folder with local data files (else ZOO_DATA_DIR, system folders, tensorflow-datasets)")
    parser.add_argument("--out", help="run folder (default: runs/VARIANT)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps-per-epoch", type=int, help="steps per epoch, for short runs")
    parser.add_argument("--seed", type=int, help="seed for reproducible runs")
    parser.add_argument("--latent-dim", type=int, help="latent size (default: the variant's)")
    parser.add_argument("--take", type=int, help="train on the first N images only")
    parser.add_argument("--jit-compile", action="store_true", help="compile train steps with XLA")
    parser.add_argument("--steps-per-execution", type=int, default=1, help="train steps per tf.function call")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    parser.set_defaults(handler=run)


def run(args):
    from zoo.training import train

    variant_config = {}
    if args.latent_dim is not None:
        variant_config["latent_dim"] = args.latent_dim
    compile_config = {}
    if args.jit_compile:
        compile_config["jit_compile"] = True
    if args.steps_per_execution != 1:
        compile_config["steps_per_execution"] = args.steps_per_execution
    gan, _ = train(
        args.variant,
        dataset=args.dataset,
        out=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        seed=args.seed,
        data_dir=args.data_dir,
        take=args.take,
        variant_config=variant_config,
        compile_config=compile_config,
        verbose=args.verbose,
    )
    import os

    out = args.out or os.path.join("runs", args.variant)
    print(f"zoo: model saved to {os.path.join(out, 'model.keras')}")
    return 0
