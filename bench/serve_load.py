"""Load test of `zoo serve` on 127.0.0.1: throughput, p50/p99 latency, errors.

Starts `python -m zoo serve MODEL --port 0` in its own process (or uses --url),
then drives it from this process with a small asyncio HTTP/1.1 keep-alive
client (standard library only, so the client costs the 2 shared cores as little
as possible). Every scenario is bounded by a request count and a time limit and
only ever talks to 127.0.0.1.

Scenarios (POST /v1/generate, PNG grid, a new seed per request):
  n=1  closed loop   --concurrency connections, each sending its next request
                     when the last answer arrived: the most requests/s.
  n=1  at a fixed rate (--rate req/s, open loop): latency measured from the
                     planned send time, so queueing delay is counted.
  n=64 closed loop   --concurrency-64 connections.

Without --model, an untrained cgan (same graph and speed as a trained one) is
exported to a temporary folder first (needs TensorFlow; the server does not).

Example:

    python bench/serve_load.py                        # prints a Markdown table
    python bench/serve_load.py --model export/cgan-fashion-mnist --compare-batching
"""

import argparse
import asyncio
import collections
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the model
def ensure_model(model, workdir):
    """Returns an artifact folder: `model`, or a fresh export of an untrained cgan."""
    if model:
        return model
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    script = (
        "import sys, zoo\n"
        "from zoo.export import export_generator\n"
        "export_generator(zoo.create('cgan', seed=0), sys.argv[1])\n"
    )
    folder = os.path.join(workdir, "cgan")
    print(f"bench: exporting an untrained cgan to {folder} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-c", script, folder], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    return folder


# ------------------------------------------------------------------ the server
def start_server(model, extra_args=()):
    """Starts `zoo serve` on a free port; returns `(process, base_url)`."""
    command = [sys.executable, "-m", "zoo", "serve", model, "--host", "127.0.0.1", "--port", "0", *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if match:
            url = f"http://127.0.0.1:{match.group(1)}"
            wait_healthy(url)
            return process, url
    process.kill()
    raise SystemExit(f"bench: the server did not start: {process.stderr.read()[-2000:]}")


def wait_healthy(url, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def stop_server(process):
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------ the client
class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def post(self, path, body):
        """Returns `(status, content_type, payload)`.

        Like any keep-alive client, it reopens a connection the server closed
        while idle (uvicorn closes after 5 s) and then sends once more: the
        request was never read, so that is not a retry of a failure.
        """
        data = json.dumps(body).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode() + data
        reused = self.writer is not None and not self.reader.at_eof()
        if not reused:
            self.close()
            await self.open()
        try:
            return await self._exchange(request)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            stale = isinstance(error, ConnectionError) or not error.partial
            if not (reused and stale):
                raise
        self.close()
        await self.open()
        return await self._exchange(request)

    async def _exchange(self, request):
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                payload += chunk[:-2]
        else:
            payload = await self.reader.readexactly(int(headers.get("content-length", 0)))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers.get("content-type", ""), payload


def check_answer(status, content_type, payload):
    return status == 200 and content_type == "image/png" and payload[:8] == b"\x89PNG\r\n\x1a\n"


ERRORS = collections.Counter()


async def one_request(connection, body, timeout):
    """Returns `(latency_seconds, ok)`; failures are counted by kind in `ERRORS`."""
    started = time.perf_counter()
    try:
        answer = await asyncio.wait_for(connection.post("/v1/generate", body), timeout)
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError) as error:
        connection.close()
        ERRORS[type(error).__name__] += 1
        return time.perf_counter() - started, False
    ok = check_answer(*answer)
    if not ok:
        ERRORS[f"HTTP {answer[0]} {answer[1]}"] += 1
    return time.perf_counter() - started, ok


def body_for(index, n, num_classes):
    body = {"n": n, "seed": index, "format": "png"}
    if num_classes:
        body["labels"] = index % num_classes
    return body


async def closed_loop(host, port, n, count, concurrency, num_classes, timeout, first_seed=0):
    """`concurrency` connections send `count` requests back to back."""
    latencies, errors = [], 0
    next_index = 0

    async def client():
        nonlocal next_index, errors
        connection = Connection(host, port)
        try:
            while next_index < count:
                index = next_index
                next_index += 1
                latency, ok = await one_request(connection, body_for(first_seed + index, n, num_classes), timeout)
                latencies.append(latency)
                errors += not ok
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return summary(latencies, errors, time.perf_counter() - started, n)


async def open_loop(host, port, n, count, rate, num_classes, timeout, max_connections=32):
    """Sends `count` requests at `rate`/s on a pool of connections; latency from the planned time.

    The connections are opened before the clock starts, like a client's warm
    pool, and reused last-in first-out, so an idle moment does not spread the
    requests over cold connections.
    """
    pool = asyncio.LifoQueue()
    for _ in range(max_connections):
        connection = Connection(host, port)
        await connection.open()
        pool.put_nowait(connection)
    latencies, errors = [], 0

    async def send(index, planned):
        nonlocal errors
        connection = await pool.get()
        try:
            queued = time.perf_counter() - planned
            latency, ok = await one_request(connection, body_for(index, n, num_classes), timeout)
            latencies.append(queued + latency)
            errors += not ok
        finally:
            pool.put_nowait(connection)

    started = time.perf_counter()
    tasks = []
    for index in range(count):
        planned = started + index / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index, planned)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().close()
    return summary(latencies, errors, elapsed, n)


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summary(latencies, errors, elapsed, n):
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed if elapsed else float("nan"),
        "images_per_s": n * len(latencies) / elapsed if elapsed else float("nan"),
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
    }


def process_cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def model_facts(url):
    with urllib.request.urlopen(url + "/v1/models", timeout=5) as response:
        model = json.load(response)["models"][0]
    return model


async def run_scenarios(url, args, server_pid=None):
    host, port = url.removeprefix("http://").split(":")
    port = int(port)
    facts = model_facts(url)
    num_classes = facts["num_classes"]
    results = []
    # Warm-up: sessions, allocators, the interpreter's caches.
    await closed_loop(host, port, 1, 200, args.concurrency, num_classes, args.request_timeout, first_seed=10**6)
    await closed_loop(host, port, 64, 8, 2, num_classes, args.request_timeout, first_seed=10**6)
    scenarios = [
        ("n=1, closed loop", f"{args.concurrency} connections",
         closed_loop(host, port, 1, args.requests, args.concurrency, num_classes, args.request_timeout)),
        (f"n=1, {args.rate:g} req/s offered", "open loop",
         open_loop(host, port, 1, args.rate_requests, args.rate, num_classes, args.request_timeout)),
        ("n=64, closed loop", f"{args.concurrency_64} connections",
         closed_loop(host, port, 64, args.requests_64, args.concurrency_64, num_classes, args.request_timeout)),
    ]
    for name, shape, coroutine in scenarios:
        cpu_before = process_cpu_seconds(server_pid) if server_pid else None
        result = await asyncio.wait_for(coroutine, args.time_limit)
        cpu_after = process_cpu_seconds(server_pid) if server_pid else None
        result.update(name=name, shape=shape, server_cpu_ms=None)
        if cpu_before is not None and cpu_after is not None and result["requests"]:
            result["server_cpu_ms"] = 1000 * (cpu_after - cpu_before) / result["requests"]
        results.append(result)
        print(f"bench: {name:26} {shape:15} {format_result(result)}", file=sys.stderr, flush=True)
    return facts, results


def format_result(result):
    cpu = result.get("server_cpu_ms")
    return (
        f"{result['rps']:8.1f} req/s {result['images_per_s']:8.0f} img/s  "
        f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}"
        + (f"  server CPU {cpu:.2f} ms/req" if cpu is not None else "")
    )


def markdown(sections, facts, load_before, load_after):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"Model: {facts['name']} ({facts.get('variant')}, latent_dim {facts['latent_dim']}, "
        f"image {'x'.join(map(str, facts['image_shape']))}), {cpus} CPUs, Python {platform.python_version()}, "
        "client and server on the same machine (127.0.0.1); "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| server | scenario | load | requests | req/s | images/s | p50 ms | p99 ms | errors | server CPU ms/req |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, results in sections:
        for r in results:
            cpu = "" if r.get("server_cpu_ms") is None else f"{r['server_cpu_ms']:.2f}"
            lines.append(
                f"| {label} | {r['name']} | {r['shape']} | {r['requests']} | {r['rps']:.0f} | "
                f"{r['images_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {cpu} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="artifact folder, .onnx file or pretrained name (default: export an untrained cgan)")
    parser.add_argument("--url", help="use a running server on 127.0.0.1 instead of starting one")
    parser.add_argument("--requests", type=int, default=3000, help="n=1 closed-loop requests (default: 3000)")
    parser.add_argument("--concurrency", type=int, default=8, help="n=1 connections (default: 8)")
    parser.add_argument("--rate", type=float, default=300, help="n=1 open-loop rate, req/s (default: 300)")
    parser.add_argument("--rate-requests", type=int, default=3000, help="n=1 open-loop requests (default: 3000)")
    parser.add_argument("--requests-64", type=int, default=200, help="n=64 requests (default: 200)")
    parser.add_argument("--concurrency-64", type=int, default=4, help="n=64 connections (default: 4)")
    parser.add_argument("--request-timeout", type=float, default=10, help="seconds per request (default: 10)")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per scenario (default: 120)")
    parser.add_argument("--compare-batching", action="store_true", help="also run a server with --no-batching")
    parser.add_argument("--server-args", default="", help="extra `zoo serve` arguments, e.g. --server-args='--workers 1'")
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args(argv)

    if args.url and not re.fullmatch(r"http://127\.0\.0\.1:\d+", args.url):
        parser.error("--url must be http://127.0.0.1:PORT (this benchmark only talks to this machine)")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    sections = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as workdir:
        if args.url:
            facts, results = asyncio.run(run_scenarios(args.url, args))
            sections.append(("running server", results))
        else:
            model = ensure_model(args.model, workdir)
            configurations = [("batching", args.server_args.split())]
            if args.compare_batching:
                configurations.append(("no batching", args.server_args.split() + ["--no-batching"]))
            for label, extra in configurations:
                print(f"bench: server with {label} {' '.join(extra)}", file=sys.stderr, flush=True)
                process, url = start_server(model, extra)
                try:
                    facts, results = asyncio.run(run_scenarios(url, args, process.pid))
                finally:
                    stop_server(process)
                sections.append((label, results))
    table = markdown(sections, facts, load_before, os.getloadavg()[0])
    if ERRORS:
        table += "\n\nErrors by kind: " + ", ".join(f"{kind}: {count}" for kind, count in ERRORS.most_common())
    print(table)
    if args.out:
        pathlib.Path(args.out).write_text(table + "\n")
    goal = sections[0][1][0]
    rate = sections[0][1][1]
    met = goal["rps"] >= 300 and rate["p99_ms"] < 50 and goal["errors"] == rate["errors"] == 0
    print(f"bench: goal (>= 300 req/s at n=1, p99 < 50 ms at 300 req/s, 0 errors): {'met' if met else 'NOT met'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
