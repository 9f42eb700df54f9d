"""`zoo train VARIANT`: train a variant and keep a resumable run folder.

The flags are settings of `zoo.run_config.RunConfig` (its defaults are the help
text's); with `--recipe FILE` the recipe gives the settings and the flags
given override them. `--init-from NAME_OR_PATH` fine-tunes a pretrained GAN
(`zoo.fine_tuning`); the variant is then the GAN's and may be left out:

    zoo train --init-from cgan-fashion-mnist --dataset my_images/ --epochs 5 --out runs/my-cgan
"""

from zoo.run_config import STRATEGIES, RunConfig

# Flags that set a `RunConfig` field of the same name (`--batch-size` -> batch_size).
CONFIG_FLAGS = (
    "variant", "dataset", "epochs", "batch_size", "steps_per_epoch", "seed", "take", "max_minutes",
    "evaluate_every", "mixed_precision", "strategy", "init_from",
)


def register(subparsers):
    default = RunConfig.default
    parser = subparsers.add_parser(
        "train",
        help="train a GAN variant",
        description="Train a GAN variant; re-run the same command to resume an interrupted run.",
    )
    parser.add_argument("variant", nargs="?", help="variant name (see `zoo list`); optional with --recipe or --init-from")
    parser.add_argument("--recipe", help="a recipe.toml holding all settings (command-line options override it)")
    parser.add_argument(
        "--init-from", metavar="NAME_OR_PATH",
        help="fine-tune a pretrained GAN: a pretrained name (its gan.keras, downloaded and sha256-checked) or "
        "the path of a GAN .keras file (a run's model.keras); the run keeps its architecture and optimizer state",
    )
    parser.add_argument("--max-minutes", type=float, help="stop after this much wall-clock training time (a number >= 0)")
    parser.add_argument("--dataset", help=f"data set name or image folder (default: {default('dataset')})")
    parser.add_argument("--data-dir", help="folder with local data files (else ZOO_DATA_DIR, system folders, tensorflow-datasets)")
    parser.add_argument("--out", help="run folder (default: runs/VARIANT); re-running with the same folder resumes")
    parser.add_argument("--epochs", type=int, help=f"default: {default('epochs')}")
    parser.add_argument("--batch-size", type=int, help=f"default: {default('batch_size')}")
    parser.add_argument("--steps-per-epoch", type=int, help="steps per epoch, for short runs (default: a full pass)")
    parser.add_argument("--seed", type=int, help="seed for reproducible runs, 0..2**32-1")
    parser.add_argument("--latent-dim", type=int, help="latent size (default: the variant's)")
    parser.add_argument("--take", type=int, help="train on the first N images only")
    parser.add_argument("--evaluate-every", type=int, help="score samples (zoo.metrics) every N epochs into the logs")
    parser.add_argument("--jit-compile", action="store_true", help="compile train steps with XLA")
    parser.add_argument(
        "--mixed-precision", nargs="?", const="float16", choices=("float16", "bfloat16", "float32"),
        help="compute in float16 (with loss scaling; the default when given alone) or bfloat16 "
        "(fast only on CPUs with AVX512-BF16/AMX, emulated and slower elsewhere); float32 overrides a "
        "recipe's mixed precision; weights and exports stay float32 (default: float32 throughout)",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, help="tf.distribute strategy; --batch-size is global")
    parser.add_argument("--steps-per-execution", type=int, default=1, help="train steps per tf.function call")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    parser.set_defaults(handler=run)


def run_config(args):
    """The `RunConfig` of `zoo train`'s arguments: the recipe's settings, overridden by the flags given."""
    from zoo.errors import ZooError

    flags = {name: getattr(args, name) for name in CONFIG_FLAGS if getattr(args, name) is not None}
    if args.recipe:
        config = RunConfig.from_recipe(args.recipe).replace(**flags)
    elif flags.get("variant"):
        config = RunConfig(**flags)
    elif flags.get("init_from"):
        from zoo.fine_tuning import init_variant

        config = RunConfig(**flags, variant=init_variant(flags["init_from"]))
    else:
        raise ZooError("Name a variant (e.g. `zoo train dcgan`), or pass --recipe FILE or --init-from NAME_OR_PATH.")
    variant_config, compile_config = dict(config.variant_config), dict(config.compile_config)
    if args.latent_dim is not None:
        variant_config["latent_dim"] = args.latent_dim
    if args.jit_compile:
        compile_config["jit_compile"] = True
    if args.steps_per_execution != 1:
        compile_config["steps_per_execution"] = args.steps_per_execution
    return config.replace(variant_config=variant_config, compile_config=compile_config)


def run(args):
    import os

    from zoo.checks import check_int
    from zoo.files import check_writable_folder
    from zoo.training import check_data_dir, check_data_found, train_run, writes_run_folder

    # Paths and CLI-only numbers are checked before anything loads.
    if args.out is not None:
        check_writable_folder(args.out, "--out")
    check_data_dir(args.data_dir, "--data-dir")
    check_int("--steps-per-execution", args.steps_per_execution, 1)
    config = run_config(args)
    if args.data_dir is not None:
        from zoo import data

        check_data_found(data.info(config.dataset, data_dir=args.data_dir), args.data_dir, "--data-dir")
    out = args.out or os.path.join("runs", config.variant)
    gan, _ = train_run(config, out=out, data_dir=args.data_dir, verbose=args.verbose)
    if writes_run_folder(gan.distribute_strategy):
        print(f"zoo: model saved to {os.path.join(out, 'model.keras')}")
    else:
        print(f"zoo: worker done; the chief saves the model to {os.path.join(out, 'model.keras')}")
    return 0
