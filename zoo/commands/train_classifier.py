"""`zoo train-classifier DATASET`: train and publish the domain classifier of the metrics.

Example:

    zoo train-classifier fashion_mnist --out export/classifiers/fashion_mnist
"""

HELP = "train the domain classifier that `zoo evaluate` scores samples with"


def register(subparsers):
    parser = subparsers.add_parser(
        "train-classifier",
        help=HELP,
        description=(
            "Train the small CNN whose 'features' layer and softmax are the eye of `zoo evaluate`, "
            "on DATASET's train split, and write classifier.keras + classifier.json (sha256, size, "
            "test accuracy, seed, command) to --out."
        ),
    )
    parser.add_argument("dataset", help="data set name, e.g. fashion_mnist")
    parser.add_argument("--out", help="folder to write (default: export/classifiers/DATASET)")
    parser.add_argument("--epochs", type=int, default=8, help="passes over the train split (default: 8)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling, 0..2**32-1 (default: 0)")
    parser.add_argument("--data-dir", help="folder with local data files")
    parser.add_argument("--force", action="store_true", help="replace an existing classifier in --out")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2)
    parser.set_defaults(handler=run)


def run(args):
    import os
    import shlex
    import sys

    from zoo.errors import ZooError
    from zoo.files import check_writable_folder, clean_stale_temporaries, temporary_pattern
    from zoo.metrics.classifier import MIN_TEST_ACCURACY, train_classifier
    from zoo.metrics.published import INFO_FILE, MODEL_FILE, publish_classifier
    from zoo.checks import check_int, check_seed
    from zoo.training import check_data_dir, check_data_found

    check_int("--epochs", args.epochs, 1)
    check_int("--batch-size", args.batch_size, 1)
    check_seed("--seed", args.seed)
    out = args.out or os.path.join("export", "classifiers", args.dataset)
    check_writable_folder(out, "--out")
    check_data_dir(args.data_dir, "--data-dir")
    if args.data_dir is not None:
        from zoo import data

        check_data_found(data.info(args.dataset, data_dir=args.data_dir), args.data_dir, "--data-dir")
    # What a killed earlier run of this command left half-written (never anything else).
    clean_stale_temporaries(out, [temporary_pattern(MODEL_FILE), temporary_pattern(INFO_FILE)])
    if os.path.exists(os.path.join(out, MODEL_FILE)) and not args.force:
        raise ZooError(f"{os.path.join(out, MODEL_FILE)} already exists. Pass --force to replace it.")
    model, facts = train_classifier(
        args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        data_dir=args.data_dir,
        verbose=args.verbose,
    )
    command = shlex.join(
        ["zoo", "train-classifier", args.dataset, "--out", out, "--epochs", str(args.epochs),
         "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    )
    info = publish_classifier(model, facts, out, command=command, force=args.force)
    print(
        f"zoo: wrote {info.path} (test accuracy {facts['test_accuracy']:.4f}, "
        f"sha256 {info.sha256}, {info.size} bytes, trained in {facts['train_seconds']:.0f} s)"
    )
    target = MIN_TEST_ACCURACY.get(args.dataset)
    if target is not None and facts["test_accuracy"] < target:
        print(
            f"zoo: warning: test accuracy {facts['test_accuracy']:.4f} is below the {target} a published "
            f"{args.dataset} classifier needs; train longer (--epochs) before publishing it.",
            file=sys.stderr,
        )
        return 1
    return 0
