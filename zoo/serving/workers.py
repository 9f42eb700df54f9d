"""`zoo serve --workers N`: N server processes answering on one socket.

uvicorn's supervisor (`uvicorn.supervisors.Multiprocess`) starts the processes
(spawned, not forked: onnxruntime's threads do not survive a fork), hands each
the listening socket, restarts one that stops answering and ends them all on
SIGINT/SIGTERM. Each process builds its own app from the `ServeSpec` the
parent leaves in the environment (`ZOO_SERVE_SPEC`): uvicorn imports the app
factory (`zoo.serving.workers:app`) and the connection protocol with the
limits (`zoo.serving.workers:Protocol`) by name in every process.

Example:

>>> spec = ServeSpec([{"model": "export/dcgan", "name": "dcgan", "threads": 1}])
>>> run_workers(spec, sock, processes=2, config_options={"log_level": "warning"})
"""

import dataclasses
import json
import os

ENV = "ZOO_SERVE_SPEC"


@dataclasses.dataclass
class ServeSpec:
    """What every worker process serves, as JSON (the parent's `zoo serve` options).

    Args:
        models: `OnnxGenerator` keyword arguments, one dict per model
            (`model` a resolved path, `name`, `threads`, ...).
        inference_threads: threads calling onnxruntime per process (`None`: the default).
        batching: batch small concurrent requests.
        limits: `ServerLimits` fields.
    """

    models: list
    inference_threads: int = None
    batching: bool = True
    limits: dict = dataclasses.field(default_factory=dict)

    def dumps(self):
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_environment(cls):
        text = os.environ.get(ENV)
        if not text:
            raise RuntimeError(f"{ENV} is not set: zoo.serving.workers runs under `zoo serve --workers N` only.")
        return cls(**json.loads(text))


def app():
    """The app of one worker process (uvicorn's `factory=True` target)."""
    from zoo.serving.app import create_app
    from zoo.serving.limits import ServerLimits
    from zoo.serving.runtime import OnnxGenerator

    spec = ServeSpec.from_environment()
    generators = [OnnxGenerator(**options) for options in spec.models]
    return create_app(generators, inference_threads=spec.inference_threads, batching=spec.batching,
                      limits=ServerLimits(**spec.limits))


def __getattr__(name):
    """`Protocol`: the limits' uvicorn protocol class, built once per process from the spec."""
    if name != "Protocol":
        raise AttributeError(name)
    from zoo.serving.limits import ServerLimits, protocol_class

    protocol = protocol_class(ServerLimits(**ServeSpec.from_environment().limits))
    globals()["Protocol"] = protocol
    return protocol


def run_workers(spec, sock, processes, config_options):
    """Serves `spec` on the bound socket `sock` with `processes` processes until SIGINT/SIGTERM."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[ENV] = spec.dumps()
    config = uvicorn.Config(
        f"{__name__}:app", factory=True, http=f"{__name__}:Protocol", workers=processes, **config_options
    )
    Multiprocess(config, sockets=[sock]).run()
