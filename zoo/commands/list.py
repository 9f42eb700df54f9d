"""`zoo list`: the registered variants."""


def register(subparsers):
    parser = subparsers.add_parser("list", help="list the GAN variants")
    parser.set_defaults(handler=run)


def run(args):
    import inspect
    import sys

    from zoo import registry

    rows = []
    for name in registry.list_variants():
        builder = registry.get_variant(name)
        module = sys.modules[builder.__module__]
        summary = (module.__doc__ or "").strip().splitlines()[0]
        summary = summary.split(": ", 1)[-1]
        conditional = "num_classes" in inspect.signature(builder).parameters
        rows.append((name, "conditional" if conditional else "unconditional", summary))
    width = max(len(row[0]) for row in rows)
    for name, kind, summary in rows:
        print(f"{name:<{width}}  {kind:<13}  {summary}")
    return 0
