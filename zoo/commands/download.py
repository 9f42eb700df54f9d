"""`zoo download NAME`: fetch a published generator into the cache; print its path.

Only the path goes to stdout, so `$(zoo download NAME --format onnx)` works in a
shell; the progress bar (on a terminal) goes to stderr.

Time limits (`zoo.hub.transfer`): `--timeout` (default 30 s) bounds the
connection and the server's response head and the longest silence in a body;
`--min-rate` (default 4096 bytes/s) is the least a body must average over each
`--timeout` window, so a server that drips bytes fails within about a minute;
`--deadline` (default none) bounds the whole command. SIGTERM or Ctrl-C leaves
no temporary file in the cache.

Example:

    zoo download cgan-fashion-mnist --format onnx
    ZOO_HUB_URL=https://example.org/zoo/export zoo download dcgan-fashion-mnist --deadline 600
"""

from zoo.hub.downloads import FORMATS
from zoo.hub.transfer import DEFAULT_MIN_RATE, DEFAULT_TIMEOUT

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
        default="keras",
        metavar="{" + ",".join(FORMATS) + "}",
        help="keras (default), onnx, litert (generator.tflite), gan (gan.keras: the whole GAN, for fine-tuning, "
        "where published), savedmodel (unzipped folder), test_vectors, manifest, or all (the whole folder)",
    )
    parser.add_argument("--source", help="base URL, URL template, hf://OWNER/REPO or folder (default: ZOO_HUB_URL)")
    parser.add_argument("--cache-dir", help="cache folder (default: ZOO_CACHE or ~/.cache/keras-gan-zoo)")
    parser.add_argument(
        "--timeout",
        default=str(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"seconds the server may take to connect and answer, and the longest silence in a transfer "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--min-rate",
        default=str(DEFAULT_MIN_RATE),
        metavar="BYTES_PER_S",
        help=f"least bytes/s a transfer must average over each --timeout window; 0: no minimum "
        f"(default {DEFAULT_MIN_RATE:g})",
    )
    parser.add_argument(
        "--deadline",
        default=None,
        metavar="SECONDS",
        help="seconds for the whole download, every file included (default: no overall limit)",
    )
    parser.set_defaults(handler=run)


def run(args):
    from zoo.hub import download
    from zoo.hub.transfer import check_limits

    limits = check_limits(args.timeout, args.min_rate, args.deadline, flags=True)
    path = download(
        args.name,
        format=args.format,
        source=args.source,
        cache_dir=args.cache_dir,
        timeout=limits.timeout,
        min_rate=limits.min_rate,
        deadline=limits.deadline,
    )
    print(path)
    return 0

