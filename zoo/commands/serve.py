"""`zoo serve MODEL...`: an HTTP service and web page over exported generators."""


def register(subparsers):
    from zoo.serving.limits import ServerLimits

    defaults = ServerLimits()
    parser = subparsers.add_parser(
        "serve",
        help="serve exported generators over HTTP (onnxruntime, no TensorFlow)",
        description="Serves exported generators: a web page at /, the API at /v1/..., "
        "OpenAPI docs at /docs. Needs the `serve` extra (FastAPI, uvicorn).",
        epilog="With the defaults: " + defaults.describe(),
    )
    parser.add_argument(
        "models", nargs="+", metavar="MODEL",
        help="an artifact folder, an .onnx file or a pretrained name; NAME=MODEL serves it as NAME",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: 8000)")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="server processes answering on the one port, each with its own copy of the models (default: 1)",
    )
    parser.add_argument(
        "--inference-threads", type=int, metavar="N",
        help="threads per process running onnxruntime side by side (default: usable CPUs, at most 4)",
    )
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads per call (default: 1)")
    parser.add_argument(
        "--providers", metavar="LIST",
        help="onnxruntime execution providers, comma-separated, e.g. CUDAExecutionProvider,CPUExecutionProvider "
        "(default: the best available, CPU last)",
    )
    parser.add_argument("--no-batching", action="store_true", help="run every request on its own")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    limits = parser.add_argument_group("limits (slow or many clients)")
    limits.add_argument(
        "--header-timeout", type=float, default=defaults.header_timeout, metavar="S",
        help="seconds for a request's headers to arrive after its first byte, else 408 (default: %(default)g)",
    )
    limits.add_argument(
        "--body-timeout", type=float, default=defaults.body_timeout, metavar="S",
        help="seconds for a request's body to arrive after its headers, else 408 (default: %(default)g)",
    )
    limits.add_argument(
        "--keep-alive", type=float, default=defaults.keep_alive, metavar="S",
        help="seconds an idle connection is kept open (default: %(default)g)",
    )
    limits.add_argument(
        "--max-connections", type=int, default=defaults.max_connections, metavar="N",
        help="connections held at most; past that the longest-waiting one is closed, "
        "and a 503 goes out only when all are busy (default: %(default)d)",
    )
    limits.add_argument(
        "--max-body-bytes", type=int, default=defaults.max_body_bytes, metavar="N",
        help="largest request body, else 413 (default: %(default)d)",
    )
    parser.set_defaults(handler=run)


def parse_model(text):
    """`"NAME=PATH"` -> `("NAME", "PATH")`; `"PATH"` -> `(None, "PATH")`."""
    name, separator, path = text.partition("=")
    if separator and name and path and "/" not in name:
        return name, path
    return None, text


def run(args):
    from zoo.checks import check_int
    from zoo.errors import ZooError

    if not 0 <= args.port <= 65535:
        raise ZooError(f"--port must be in 0..65535. Received: --port {args.port}.")
    check_int("--workers", args.workers, 1)
    check_int("--inference-threads", args.inference_threads, 1, optional=True)
    from zoo.serving.limits import ServerLimits, check_limits

    options = {name: getattr(args, name) for name in
               ("header_timeout", "body_timeout", "keep_alive", "max_connections", "max_body_bytes")}
    check_limits(options, spell=lambda name: "--" + name.replace("_", "-"), sep=" ")
    limits = ServerLimits(**options)
    try:
        import httptools  # noqa: F401  (the HTTP parser `zoo.serving.limits` builds on)

        from zoo.serving.app import serve
    except ImportError as error:
        raise ZooError(
            f"`zoo serve` needs FastAPI, uvicorn and httptools ({error.name} is missing). "
            "Install them with `pip install keras-gan-zoo[serve]`."
        ) from None
    from zoo.serving import OnnxGenerator

    generators = []
    for text in args.models:
        name, model = parse_model(text)
        generators.append(OnnxGenerator(model, name=name, threads=args.threads, providers=args.providers))
    # What each `--workers` process loads its own copy with (the resolved files, the same names).
    specs = [{"model": str(generator.path), "name": generator.name, "threads": args.threads,
              "providers": list(generator.providers)} for generator in generators]
    serve(
        generators, host=args.host, port=args.port, inference_threads=args.inference_threads,
        processes=args.workers, specs=specs,
        batching=not args.no_batching, access_log=args.access_log, limits=limits,
    )
    return 0
