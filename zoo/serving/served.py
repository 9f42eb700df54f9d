"""The generators one HTTP app serves: lookup by name, request labels, responses.

`ServedModels` is what the routes of `zoo.serving.routes` share: the
`OnnxGenerator`s by name, their `GET /v1/models` metadata, the `GeneratorPool`
that runs them, and the three steps every generating route takes (pick the
model, check the labels, run and encode the answer). A bad request is a
`RequestError` naming the field (a 4xx JSON error, `zoo.serving.http_errors`).

Example:

>>> served = ServedModels([OnnxGenerator("export/cgan-fashion-mnist")])
>>> generator = served.pick("cgan-fashion-mnist")
>>> labels = served.labels_for(generator, 3, n=4)
"""

import io
import json

import numpy as np
from fastapi.responses import Response

from zoo.errors import ZooError, did_you_mean
from zoo.images import encode_png, make_grid
from zoo.serving.batching import GeneratorPool
from zoo.serving.http_errors import RequestError, clip, short

MEDIA_TYPES = {"png": "image/png", "npy": "application/x-npy", "json": "application/json"}
STORED_PNG_BYTES = 4096
"""PNG grids of at most this many pixel bytes are sent uncompressed (zlib level 0): compressing one
28x28 tile costs ~20-30 us of the event loop to save ~500 bytes, as web servers skip gzip for tiny
bodies. Bigger grids use level 1, the fastest that compresses."""


class ServedModels:
    """The named generators of one app and the pool running them.

    Args:
        generators: `OnnxGenerator`s, served under their `name`s.
        inference_threads: threads of the `GeneratorPool` calling onnxruntime.
            Defaults to its default.
        batching: whether the pool batches small concurrent requests.
            Defaults to `True`.

    Raises:
        ZooError: if two generators share a name, or there are none.
    """

    def __init__(self, generators, inference_threads=None, batching=True):
        generators = list(generators)
        names = [generator.name for generator in generators]
        if len(set(names)) != len(names):
            raise ZooError(f"Two models share a name. Received: names={names}. Rename one with NAME=MODEL.")
        self.generators = dict(zip(names, generators))
        if not self.generators:
            raise ZooError("Nothing to serve. Received: no models. Pass at least one model.")
        self.pool = GeneratorPool(self.generators, workers=inference_threads, batching=batching)
        self.metadata = {name: {**generator.metadata.to_dict(), "providers": list(getattr(generator, "providers", ()))}
                         for name, generator in self.generators.items()}

    def pick(self, name):
        """The generator `name` (`None`: the only one), or a 422/404 `RequestError`."""
        generators = self.generators
        if name is None:
            if len(generators) == 1:
                return next(iter(generators.values()))
            raise RequestError(
                422, "model", f"Several models are served: name one. Allowed: {', '.join(generators)}.", "missing"
            )
        generator = generators.get(name)
        if generator is None:
            hint = did_you_mean(name, generators) if len(name) <= 100 else ""
            raise RequestError(
                404, "model", f"Unknown model '{clip(name, 40)}'. Received: model={short(name)}. "
                f"Available: {', '.join(generators)}.{hint}", "unknown_model",
            )
        return generator

    @staticmethod
    def labels_for(generator, labels, n, per="image"):
        """int64 labels `[n]` for `generator`, or a 422 naming the bad one (as given, however big).

        Left out, a conditional model's labels cycle through its classes.
        """
        classes = generator.num_classes
        if classes is None:
            if labels is None:
                return None
            raise RequestError(
                422, "labels", f"'{generator.name}' is unconditional and takes no labels. "
                f"Received: labels={short(labels)}. Allowed: leave labels out.", "unconditional",
            )
        if labels is None:
            return np.arange(n, dtype=np.int64) % classes
        values = [labels] * n if isinstance(labels, int) else labels
        if len(values) != n:
            raise RequestError(
                422, "labels", f"Invalid labels: expected one per {per} ({n}). Received: {len(values)} labels. "
                f"Allowed: an integer class in 0..{classes - 1}, or a list of {n}.", "wrong_length",
            )
        for index, label in enumerate(values):
            if not 0 <= label < classes:
                single = isinstance(labels, int)
                where, loc = ("labels", ["labels"]) if single else (f"labels[{index}]", ["labels", index])
                raise RequestError(
                    422, "labels", f"Invalid {where}: out of range. Received: {where}={short(label)}. "
                    f"Allowed: an integer class in 0..{classes - 1}.", "out_of_range", loc,
                )
        return np.asarray(values, dtype=np.int64)

    async def respond(self, generator, z, labels, fmt, facts, columns=None, padding=2):
        """Runs `generator` on `z` (an array or a `LatentDraw`) and `labels` and answers in `fmt`.

        Big batches encode on the pool's threads.
        """
        pool = self.pool
        images = await pool.run(generator.name, z, labels)
        facts = {**facts, "labels": None if labels is None else labels.tolist()}
        render = Renderer(generator, fmt, columns, padding, facts)
        content = await pool.call(render, images) if len(images) > pool.batch_below else render(images)
        headers = {"X-Model": generator.name}
        if "seed" in facts:
            headers["X-Seed"] = str(facts["seed"])
        return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)


class Renderer:
    """Float images -> response bytes in one format (run on the pool for big batches).

    Args:
        generator: the `OnnxGenerator` that made them (its pixel conversion and name).
        fmt: `"png"` (a grid), `"npy"` (uint8 `[n, H, W, C]`) or `"json"`.
        columns, padding: the PNG grid's layout.
        facts: what the JSON body reports besides the images (seed, labels, ...).
    """

    def __init__(self, generator, fmt, columns, padding, facts):
        self.generator, self.fmt, self.columns, self.padding = generator, fmt, columns, padding
        self.facts = facts

    def __call__(self, images):
        images = self.generator.to_uint8(images)
        if self.fmt == "png":
            grid = make_grid(images, columns=self.columns, padding=self.padding)
            return encode_png(grid, compress_level=0 if grid.size <= STORED_PNG_BYTES else 1)
        if self.fmt == "npy":
            buffer = io.BytesIO()
            np.save(buffer, images, allow_pickle=False)
            return buffer.getvalue()
        body = {"model": self.generator.name, **self.facts, "shape": list(images.shape), "dtype": "uint8",
                "images": images.tolist()}
        return json.dumps(body, separators=(",", ":")).encode()
