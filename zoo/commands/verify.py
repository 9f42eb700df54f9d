"""`zoo verify`: re-check an exported artifact folder.

Checks that manifest.json's paths stay inside the folder, that it lists every
file in the folder and every file the runtimes load, each file's size and
sha256, and replays test_data_set_0 through onnxruntime, the SavedModel and
generator.tflite where shipped (tolerance 1e-4). Exit
status 0 when everything holds, 1 when a check fails (each failure is one line
naming the file), 2 when the folder is not an export at all.

Example:

    zoo verify export/my-dcgan
    zoo verify dcgan-fashion-mnist      # a pretrained name: its verified cached publication
"""

EXIT_FAILED = 1


def register(subparsers):
    parser = subparsers.add_parser(
        "verify",
        help="re-check an export folder's hashes and test vectors",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("folder", help="a folder written by `zoo export`, or a pretrained name")
    parser.add_argument(
        "--runtime",
        choices=("all", "onnxruntime", "savedmodel", "litert"),
        default="all",
        help="which formats to replay the test vectors through (default all: onnxruntime, the SavedModel "
        "and, where the folder ships one, generator.tflite)",
    )
    parser.set_defaults(handler=run)


def run(args):
    import sys

    from zoo.export.verify import verify_artifact

    runtimes = None if args.runtime == "all" else (args.runtime,)
    report = verify_artifact(args.folder, runtimes=runtimes)
    print(report, file=sys.stdout if report.passed else sys.stderr)
    return 0 if report.passed else EXIT_FAILED
