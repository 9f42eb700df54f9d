"""Running generators for an asyncio server: a bounded pool, small requests batched.

`GeneratorPool` owns the threads that call onnxruntime (one per core by default,
each call on one intra-op thread) so the event loop does not wait on big batches.
With batching on (the default) it adapts to the load:

- idle, one image: the call (~0.3 ms for a 28x28 generator) runs right on the
  event loop; handing it to a thread and back costs more CPU than the call and
  adds two thread wake-ups, which is what a busy machine makes slow;
- busy, small requests (`n <= batch_below`) of one model are concatenated into
  one onnxruntime call of up to `max_batch` images and the results split back.
  No request waits for a batch to fill: a batch is whatever queued up while the
  previous call ran;
- big requests go to the threads as they are.

onnxruntime's CPU kernels give each row the same result whatever the batch
(checked by the tests), so batching never changes an image.
"""

import asyncio
import collections
import concurrent.futures
import os

import numpy as np

_Job = collections.namedtuple("_Job", "z labels future")


def default_workers():
    """Threads calling onnxruntime: the CPUs this process may use, at most 4."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, available or 1))


class GeneratorPool:
    """Runs `OnnxGenerator.run` calls for an asyncio app.

    Args:
        generators: `{name: OnnxGenerator}`.
        workers: threads calling onnxruntime. Defaults to `default_workers()`.
        batching: run single images inline when idle and batch small
            concurrent requests; `False` sends every request to the threads
            as it is. Defaults to `True`.
        batch_below: requests of at most this many images are batched.
            Defaults to `8`.
        max_batch: most images in one batched call. Defaults to `64`.

    Example:

    >>> pool = GeneratorPool({"cgan": g})
    >>> await pool.start()
    >>> images = await pool.run("cgan", z, labels)   # float32 [n, H, W, C]
    """

    def __init__(self, generators, workers=None, batching=True, batch_below=8, max_batch=64):
        self.generators = dict(generators)
        self.workers = int(workers or default_workers())
        self.batching = bool(batching)
        self.batch_below = int(batch_below)
        self.max_batch = int(max_batch)
        self.inline = self.batching
        self.executor = None
        self._queues = {}
        self._tasks = []
        self._pending = 0
        self.calls = 0
        self.inline_calls = 0
        self.batched_requests = 0

    async def start(self):
        """Starts the threads (and the batching tasks) in the running loop."""
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="zoo-onnx"
        )
        if self.batching:
            for name in self.generators:
                self._queues[name] = asyncio.Queue()
                # As many collectors as threads: while one batch runs, the next gathers.
                for _ in range(self.workers):
                    self._tasks.append(asyncio.create_task(self._collect(name)))

    async def close(self):
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def call(self, function, *args):
        """Runs `function(*args)` on the pool's threads (e.g. encoding a big grid)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def run(self, name, z, labels=None):
        """float32 images of `generators[name].run(z, labels)`, batched if small."""
        if self.inline and self._pending == 0 and len(z) == 1:
            # Idle pool, one image (~0.3 ms): handing it to a thread and back would
            # cost more CPU than the call, and two more wake-ups to wait for.
            self.calls += 1
            self.inline_calls += 1
            return self.generators[name].run(z, labels)
        self._pending += 1
        try:
            if not self.batching or len(z) > self.batch_below:
                self.calls += 1
                return await self.call(self.generators[name].run, z, labels)
            future = asyncio.get_running_loop().create_future()
            self._queues[name].put_nowait(_Job(z, labels, future))
            return await future
        finally:
            self._pending -= 1

    async def _collect(self, name):
        queue = self._queues[name]
        generator = self.generators[name]
        while True:
            jobs = [await queue.get()]
            count = len(jobs[0].z)
            while count < self.max_batch and not queue.empty():
                job = queue.get_nowait()
                jobs.append(job)
                count += len(job.z)
            jobs = [job for job in jobs if not job.future.cancelled()]
            if not jobs:
                continue
            z = np.concatenate([job.z for job in jobs]) if len(jobs) > 1 else jobs[0].z
            labels = None
            if jobs[0].labels is not None:
                labels = np.concatenate([job.labels for job in jobs]) if len(jobs) > 1 else jobs[0].labels
            self.calls += 1
            self.batched_requests += len(jobs)
            try:
                images = await self.call(generator.run, z, labels)
            except Exception as error:  # handed to every waiting request
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            start = 0
            for job in jobs:
                stop = start + len(job.z)
                if not job.future.done():
                    job.future.set_result(images[start:stop])
                start = stop
