"""The `zoo` command line: `zoo <command> [options]`.

Each command lives in `zoo/commands/<name>.py` and exposes `register(subparsers)`,
which adds its parser and sets `handler`. Command modules import TensorFlow only
inside their handlers, so `zoo --help` stays fast.

Example:

    zoo list
    zoo train dcgan --dataset fashion_mnist --epochs 20 --out runs/dcgan
    zoo sample runs/dcgan/model.keras --n 64 --seed 0 --out grid.png
"""

import argparse
import importlib
import os
import sys

COMMANDS = (
    "list",
    "train",
    "sample",
    "export",
    "verify",
    "evaluate",
    "train-classifier",
    "publish",
    "download",
    "serve",
    "page",
)

EXIT_USAGE = 2


def build_parser():
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="keras-gan-zoo: train, sample and export GAN generators.",
    )
    from zoo import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"zoo.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as error:
            if error.name != f"zoo.commands.{name.replace('-', '_')}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    from zoo.errors import ZooError

    try:
        return args.handler(args) or 0
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
