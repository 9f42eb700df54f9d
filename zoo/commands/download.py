"""`zoo download NAME`: fetch a published generator into the cache; print its path.

Only the path goes to stdout, so `$(zoo download NAME --format onnx)` works in a
shell; the progress bar (on a terminal) goes to stderr.

Example:

    zoo download cgan-fashion-mnist --format onnx
    ZOO_HUB_URL=https://example.org/zoo/export zoo download dcgan-fashion-mnist
"""

from zoo.hub.downloads import FORMATS

HELP = "download a pretrained generator (verified, cached) and print its local path"


def register(subparsers):
    parser = subparsers.add_parser(
        "download",
        help=HELP,
        description=(
            "Download a published generator into the cache (ZOO_CACHE, default ~/.cache/keras-gan-zoo), "
            "check its sha256 against the catalogue, and print the local path. The source is --source, "
            "else ZOO_HUB_URL, else the checkout's export/. ZOO_OFFLINE=1 never uses the network: files "
            "come from the cache or a local (file://, checkout) source."
        ),
    )
    parser.add_argument("name", help="a pretrained name (see `zoo list --pretrained`)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="keras",
        help="keras (default), onnx, savedmodel (unzipped folder), test_vectors, manifest, or all (the whole folder)",
    )
    parser.add_argument("--source", help="base URL, URL template, hf://OWNER/REPO or folder (default: ZOO_HUB_URL)")
    parser.add_argument("--cache-dir", help="cache folder (default: ZOO_CACHE or ~/.cache/keras-gan-zoo)")
    parser.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)")
    parser.set_defaults(handler=run)


def run(args):
    from zoo.hub import download

    path = download(
        args.name,
        format=args.format,
        source=args.source,
        cache_dir=args.cache_dir,
        timeout=args.timeout,
    )
    print(path)
    return 0
