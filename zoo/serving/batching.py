"""Running generators for an asyncio server: a bounded pool, small requests batched.

`GeneratorPool` owns the threads that call onnxruntime (one per core by default,
each call on one intra-op thread) so the event loop does not wait on big batches.
With batching on (the default) it adapts to the load:

- a small request (`n <= batch_below`) joins its model's queue and the queue is
  flushed one event-loop turn later, so every request the server parsed in the
  same turn (under load, the several that arrived together) goes into one
  onnxruntime call of up to `max_batch` images; the results are split back.
  No request waits for a batch to fill: a turn is microseconds;
- idle, one image: the call (~0.2 ms for a 28x28 generator) runs right on the
  event loop; handing it to a thread and back costs more CPU than the call and
  adds two thread wake-ups, which is what a busy machine makes slow;
- busy (a batch already running, or several requests queued): the batch runs on
  a thread, and while at most `batches_at_once` batches run the loop keeps parsing the
  next requests, which queue up for the batch after;
- big requests go to the threads as they are.

A request may hand over its latents as a `LatentDraw` (seed, n, truncation)
rather than an array: a batch then draws all its requests' latents in one pass
(`zoo.latent.sample_latents`), the same bits for a fraction of the NumPy calls.

onnxruntime's CPU kernels give each row the same result whatever the batch
(checked by the tests), so batching never changes an image.
"""

import asyncio
import collections
import concurrent.futures
import os

import numpy as np

from zoo.latent import sample_latent, sample_latents

_Job = collections.namedtuple("_Job", "z labels future")

LatentDraw = collections.namedtuple("LatentDraw", "n seed truncation")
LatentDraw.__doc__ = """The latents of `sample_latent(n, latent_dim, seed, truncation)`, drawn by the pool.

Handing `GeneratorPool.run` a draw instead of the array lets one batch draw the
latents of all its requests at once (`zoo.latent.sample_latents`), bit for bit
the same as each request drawing its own.
"""


def _rows(z):
    """The number of images of `z` (an array or a `LatentDraw`)."""
    return z.n if isinstance(z, LatentDraw) else len(z)


def default_workers():
    """Threads calling onnxruntime: the CPUs this process may use, at most 4."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, available or 1))


def batches_at_once(workers):
    """How many batches of small requests run at once on `workers` threads: all but one, at least one.

    The thread kept back serves big requests, so a burst of small ones does not
    hold them up, and while the batches run the event loop (which parses,
    validates and encodes every request) keeps a core. On 2 CPUs shared with a
    client, one batch at a time answered one-image requests at 0.56x /health's
    rate against 0.45-0.48x with two (`bench/serve_load.py`, mlp-gan; BENCHMARKS.md).

    Example:

    >>> [batches_at_once(n) for n in (1, 2, 4)]
    [1, 1, 3]
    """
    return max(1, workers - 1)


class GeneratorPool:
    """Runs `OnnxGenerator.run` calls for an asyncio app.

    Args:
        generators: `{name: OnnxGenerator}`.
        workers: threads calling onnxruntime. Defaults to `default_workers()`.
            At most `batches_at_once(workers)` batches of small requests run
            at once; big requests may use every thread.
        batching: run single images inline when idle and batch small
            concurrent requests; `False` sends every request to the threads
            as it is. Defaults to `True`.
        batch_below: requests of at most this many images are batched.
            Defaults to `8`.
        max_batch: most images in one batched call. Defaults to `64`.

    Attributes:
        calls: onnxruntime calls made (each batch is one).
        inline_calls: of those, the ones run on the event loop (idle, one image).
        batched_requests: requests answered by a call on a thread that others
            could join.

    Example:

    >>> pool = GeneratorPool({"cgan": g})
    >>> await pool.start()
    >>> images = await pool.run("cgan", z, labels)   # float32 [n, H, W, C]
    """

    def __init__(self, generators, workers=None, batching=True, batch_below=8, max_batch=64):
        self.generators = dict(generators)
        self.workers = int(workers or default_workers())
        self.batches_at_once = batches_at_once(self.workers)
        self.batching = bool(batching)
        self.batch_below = int(batch_below)
        self.max_batch = int(max_batch)
        self.executor = None
        self._loop = None
        self._queues = {name: collections.deque() for name in self.generators}
        self._flush_planned = set()
        self._running = 0  # batches on the threads
        self.calls = 0
        self.inline_calls = 0
        self.batched_requests = 0

    async def start(self):
        """Starts the threads in the running loop."""
        self._loop = asyncio.get_running_loop()
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="zoo-onnx"
        )

    async def close(self):
        for queue in self._queues.values():
            while queue:
                job = queue.popleft()
                if not job.future.done():
                    job.future.cancel()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def call(self, function, *args):
        """Runs `function(*args)` on the pool's threads (e.g. encoding a big grid)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def run(self, name, z, labels=None):
        """float32 images of `generators[name].run(z, labels)`, batched if small.

        Args:
            name: the generator's name.
            z: float32 `[n, latent_dim]`, or a `LatentDraw` of them.
            labels: int64 `[n]` for a conditional model, else `None`.
        """
        if not self.batching or _rows(z) > self.batch_below:
            generator = self.generators[name]
            if isinstance(z, LatentDraw):
                z = sample_latent(z.n, generator.latent_dim, z.seed, z.truncation)
            self.calls += 1
            return await self.call(generator.run, z, labels)
        future = self._loop.create_future()
        self._queues[name].append(_Job(z, labels, future))
        self._plan_flush(name)
        return await future

    def _plan_flush(self, name):
        """Flushes `name`'s queue after the callbacks already due in this turn of the loop."""
        if name not in self._flush_planned:
            self._flush_planned.add(name)
            self._loop.call_soon(self._flush, name)

    def _flush(self, name):
        self._flush_planned.discard(name)
        queue = self._queues[name]
        while queue and queue[0].future.cancelled():
            queue.popleft()
        if not queue:
            return
        generator = self.generators[name]
        if self._running == 0 and len(queue) == 1 and _rows(queue[0].z) == 1:
            # Idle pool, one image: run it here (see the module docstring).
            job = queue.popleft()
            self.calls += 1
            self.inline_calls += 1
            try:
                job.future.set_result(generator.run(self._latents(generator, [job]), job.labels))
            except Exception as error:  # the request's own error (a 4xx or 500 upstream)
                job.future.set_exception(error)
            return
        if self._running >= self.batches_at_once:
            return  # flushed again when a running batch finishes
        jobs, count = [], 0
        while queue and (not jobs or count + _rows(queue[0].z) <= self.max_batch):
            job = queue.popleft()
            if not job.future.cancelled():
                jobs.append(job)
                count += _rows(job.z)
        if queue:
            self._plan_flush(name)
        if not jobs:
            return
        try:
            z = self._latents(generator, jobs)
        except Exception as error:
            for job in jobs:
                job.future.set_exception(error)
            return
        labels = None
        if jobs[0].labels is not None:
            labels = np.concatenate([job.labels for job in jobs]) if len(jobs) > 1 else jobs[0].labels
        self.calls += 1
        self.batched_requests += len(jobs)
        self._running += 1
        done = self._loop.run_in_executor(self.executor, generator.run, z, labels)
        done.add_done_callback(lambda result: self._hand_out(name, jobs, result))

    def _hand_out(self, name, jobs, result):
        """Splits a finished batch's images back to its requests (or its error to all)."""
        self._running -= 1
        error = None if result.cancelled() else result.exception()
        if result.cancelled() or error is not None:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error or asyncio.CancelledError())
        else:
            images, start = result.result(), 0
            for job in jobs:
                stop = start + _rows(job.z)
                if not job.future.done():
                    job.future.set_result(images[start:stop])
                start = stop
        for waiting in self._queues:
            if self._queues[waiting]:
                self._plan_flush(waiting)

    @staticmethod
    def _latents(generator, jobs):
        """The batch's `z`: the jobs' arrays and draws, in order (all draws in one pass)."""
        draws = [job.z for job in jobs if isinstance(job.z, LatentDraw)]
        if len(draws) == len(jobs):
            return sample_latents(draws, generator.latent_dim)
        if draws:
            drawn = iter(np.split(sample_latents(draws, generator.latent_dim),
                                  np.cumsum([draw.n for draw in draws])[:-1]))
            pieces = [next(drawn) if isinstance(job.z, LatentDraw) else job.z for job in jobs]
        else:
            pieces = [job.z for job in jobs]
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
