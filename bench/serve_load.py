"""Load test of `zoo serve` on 127.0.0.1: throughput, p50/p99 latency, errors.

Starts `python -m zoo serve MODEL --port 0` in its own process (or uses --url),
then drives it from this process with a small asyncio HTTP/1.1 keep-alive
client (standard library only, so the client costs the 2 shared cores as little
as possible). Every scenario is bounded by a request count and a time limit and
only ever talks to 127.0.0.1.

Scenarios, per server (`--workers` 1 and 2 by default, `--workers-list`):
  GET /health        closed loop: the rate of the cheapest route, the yardstick
                     the others are given as a ratio of ("vs /health").
                     It and the two n=1 closed loops below run --rounds times,
                     interleaved; each ratio is to the same round's /health and
                     the table shows the median round (a shared machine's noise).
  /v1 n=1, /v2 n=1   closed loop   --concurrency connections, each sending its
                     next request when the last answer arrived: the most requests/s.
                     /v1: POST /v1/generate, PNG grid, a new seed per request;
                     /v2: POST /v2/models/{name}/infer, z (and label) as binary
                     tensor data, image back as binary data (tritonclient's defaults).
  /v1 n=1 at a fixed rate (--rate req/s, open loop): latency measured from the
                     planned send time, so queueing delay is counted.
  /v1 n=64, /v2 n=64 closed loop --concurrency-64 connections.

Without --model, an untrained cgan (same graph and speed as a trained one) is
exported to a temporary folder first (needs TensorFlow; the server does not).

Example:

    python bench/serve_load.py                        # prints a Markdown table
    python bench/serve_load.py --workers-list 1 --requests 500 --time-limit 20   # a short smoke run
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
        """POSTs `body` as JSON; see `send`."""
        return await self.send("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    async def send(self, method, path, data=b"", headers=None):
        """Returns `(status, content_type, payload)`.

        Like any keep-alive client, it reopens a connection the server closed
        while idle (uvicorn closes after 5 s) and then sends once more: the
        request was never read, so that is not a retry of a failure.
        """
        extra = "".join(f"{key}: {value}\r\n" for key, value in (headers or {}).items())
        length = f"Content-Length: {len(data)}\r\n" if method == "POST" else ""
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{extra}{length}\r\n"
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


class Route:
    """What one scenario sends: `request(index, n)` -> `(method, path, data, headers)`, and its check.

    `kind`: `"health"` (GET /health), `"v1"` (POST /v1/generate, PNG) or `"v2"`
    (POST /v2/models/{name}/infer with binary tensors, as tritonclient sends by default).
    """

    def __init__(self, kind, facts):
        self.kind, self.facts = kind, facts
        self.num_classes = facts["num_classes"]

    def request(self, index, n):
        if self.kind == "health":
            return "GET", "/health", b"", None
        if self.kind == "v1":
            body = json.dumps(body_for(index, n, self.num_classes)).encode()
            return "POST", "/v1/generate", body, {"Content-Type": "application/json"}
        import numpy as np

        z = np.random.default_rng(index).standard_normal((n, self.facts["latent_dim"]), dtype=np.float32)
        tensors = [("z", "FP32", [n, self.facts["latent_dim"]], z.astype("<f4").tobytes())]
        if self.num_classes:
            labels = (np.arange(n, dtype="<i8") + index) % self.num_classes
            tensors.append(("label", "INT64", [n], labels.tobytes()))
        header = json.dumps({
            "inputs": [{"name": name, "datatype": datatype, "shape": shape,
                        "parameters": {"binary_data_size": len(data)}} for name, datatype, shape, data in tensors],
            "parameters": {"binary_data_output": True},
        }).encode()
        data = header + b"".join(data for *_, data in tensors)
        return "POST", f"/v2/models/{self.facts['name']}/infer", data, {"Inference-Header-Content-Length": len(header)}

    def check(self, status, content_type, payload):
        if self.kind == "v1":
            return check_answer(status, content_type, payload)
        return status == 200 and content_type.startswith("application/")


ERRORS = collections.Counter()


async def one_request(connection, route, index, n, timeout):
    """Returns `(latency_seconds, ok)`; failures are counted by kind in `ERRORS`."""
    request = route.request(index, n)
    started = time.perf_counter()
    try:
        answer = await asyncio.wait_for(connection.send(*request), timeout)
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError) as error:
        connection.close()
        ERRORS[type(error).__name__] += 1
        return time.perf_counter() - started, False
    ok = route.check(*answer)
    if not ok:
        ERRORS[f"HTTP {answer[0]} {answer[1]}"] += 1
    return time.perf_counter() - started, ok


def body_for(index, n, num_classes):
    body = {"n": n, "seed": index, "format": "png"}
    if num_classes:
        body["labels"] = index % num_classes
    return body


async def closed_loop(host, port, n, count, concurrency, route, timeout, first_seed=0):
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
                latency, ok = await one_request(connection, route, first_seed + index, n, timeout)
                latencies.append(latency)
                errors += not ok
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return summary(latencies, errors, time.perf_counter() - started, n)


async def open_loop(host, port, n, count, rate, route, timeout, max_connections=32):
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
            latency, ok = await one_request(connection, route, index, n, timeout)
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
    """User + system CPU seconds of process `pid` and its children (`--workers`; Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            children = [int(child) for child in file.read().split()]
    except (OSError, ValueError, IndexError):
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_seconds(child) or 0.0 for child in children)


def model_facts(url):
    with urllib.request.urlopen(url + "/v1/models", timeout=5) as response:
        model = json.load(response)["models"][0]
    return model


async def run_scenarios(url, args, server_pid=None):
    host, port = url.removeprefix("http://").split(":")
    port = int(port)
    facts = model_facts(url)
    health, v1, v2 = (Route(kind, facts) for kind in ("health", "v1", "v2"))
    results = []
    # Warm-up: sessions, allocators, the interpreter's caches.
    for route in (health, v1, v2):
        await closed_loop(host, port, 1, 200, args.concurrency, route, args.request_timeout, first_seed=10**6)
        await closed_loop(host, port, 64, 8, 2, route, args.request_timeout, first_seed=10**6)
    connections, connections_64 = f"{args.concurrency} connections", f"{args.concurrency_64} connections"

    async def measure(name, shape, coroutine):
        cpu_before = process_cpu_seconds(server_pid) if server_pid else None
        result = await asyncio.wait_for(coroutine, args.time_limit)
        cpu_after = process_cpu_seconds(server_pid) if server_pid else None
        result.update(name=name, shape=shape, server_cpu_ms=None, vs_health=None)
        if cpu_before is not None and cpu_after is not None and result["requests"]:
            result["server_cpu_ms"] = 1000 * (cpu_after - cpu_before) / result["requests"]
        return result

    # The n=1 closed loops, interleaved over --rounds rounds: each round's ratio is
    # to that round's /health, and the table keeps the median round of each, so a
    # neighbour's burst on a shared machine moves one round, not the comparison.
    cheap = [("GET /health, closed loop", health), ("/v1 n=1, closed loop", v1), ("/v2 n=1, closed loop", v2)]
    rounds = {name: [] for name, _ in cheap}
    for round_index in range(args.rounds):
        for name, route in cheap:
            result = await measure(name, connections, closed_loop(
                host, port, 1, args.requests, args.concurrency, route, args.request_timeout,
                first_seed=round_index * args.requests))
            if route is not health:  # to this round's /health, measured just before
                result["vs_health"] = result["rps"] / rounds[cheap[0][0]][-1]["rps"]
            rounds[name].append(result)
            print(f"bench: {name:26} {connections:15} {format_result(result)}  (round {round_index + 1})",
                  file=sys.stderr, flush=True)
    results = [median_round(rounds[name]) for name, _ in cheap]
    scenarios = [
        (f"/v1 n=1, {args.rate:g} req/s offered", "open loop",
         open_loop(host, port, 1, args.rate_requests, args.rate, v1, args.request_timeout)),
        ("/v1 n=64, closed loop", connections_64,
         closed_loop(host, port, 64, args.requests_64, args.concurrency_64, v1, args.request_timeout)),
        ("/v2 n=64, closed loop", connections_64,
         closed_loop(host, port, 64, args.requests_64, args.concurrency_64, v2, args.request_timeout)),
    ]
    for name, shape, coroutine in scenarios:
        result = await measure(name, shape, coroutine)
        if shape != "open loop":  # an open loop's rate is the offered one
            result["vs_health"] = result["rps"] / results[0]["rps"]
        results.append(result)
        print(f"bench: {name:26} {shape:15} {format_result(result)}", file=sys.stderr, flush=True)
    return facts, results


def median_round(results):
    """One scenario over its rounds: the median of each figure (requests and errors summed)."""
    merged = dict(results[0])
    for key in ("rps", "images_per_s", "p50_ms", "p99_ms", "mean_ms", "server_cpu_ms", "vs_health"):
        values = [r[key] for r in results if r.get(key) is not None]
        merged[key] = statistics.median(values) if values else None
    merged["requests"] = sum(r["requests"] for r in results)
    merged["errors"] = sum(r["errors"] for r in results)
    merged["rounds"] = len(results)
    merged["round_ratios"] = [r["vs_health"] for r in results if r.get("vs_health") is not None]
    return merged


def format_result(result):
    cpu = result.get("server_cpu_ms")
    ratio = result.get("vs_health")
    return (
        f"{result['rps']:8.1f} req/s {result['images_per_s']:8.0f} img/s  "
        f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  errors {result['errors']}"
        + (f"  server CPU {cpu:.2f} ms/req" if cpu is not None else "")
        + (f"  {ratio:.2f}x /health" if ratio is not None else "")
    )


def markdown(sections, facts, load_before, load_after):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"Model: {facts['name']} ({facts.get('variant')}, latent_dim {facts['latent_dim']}, "
        f"image {'x'.join(map(str, facts['image_shape']))}), {cpus} CPUs, Python {platform.python_version()}, "
        "client and server on the same machine (127.0.0.1); "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| server | scenario | load | requests | req/s | vs /health | images/s | p50 ms | p99 ms | errors "
        "| server CPU ms/req |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, results in sections:
        for r in results:
            cpu = "" if r.get("server_cpu_ms") is None else f"{r['server_cpu_ms']:.2f}"
            ratio = "" if r.get("vs_health") is None else f"{r['vs_health']:.2f}x"
            if len(r.get("round_ratios") or ()) > 1:  # the median round, then every round's
                ratio += " (" + ", ".join(f"{value:.2f}" for value in r["round_ratios"]) + ")"
            lines.append(
                f"| {label} | {r['name']} | {r['shape']} | {r['requests']} | {r['rps']:.0f} | {ratio} | "
                f"{r['images_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {cpu} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="artifact folder, .onnx file or pretrained name (default: export an untrained cgan)")
    parser.add_argument("--url", help="use a running server on 127.0.0.1 instead of starting one")
    parser.add_argument("--requests", type=int, default=3000, help="n=1 closed-loop requests per round (default: 3000)")
    parser.add_argument("--concurrency", type=int, default=8, help="n=1 connections (default: 8)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the n=1 closed loops, interleaved; the table shows the median (default: 3)")
    parser.add_argument("--rate", type=float, default=300, help="n=1 open-loop rate, req/s (default: 300)")
    parser.add_argument("--rate-requests", type=int, default=3000, help="n=1 open-loop requests (default: 3000)")
    parser.add_argument("--requests-64", type=int, default=200, help="n=64 requests (default: 200)")
    parser.add_argument("--concurrency-64", type=int, default=4, help="n=64 connections (default: 4)")
    parser.add_argument("--request-timeout", type=float, default=10, help="seconds per request (default: 10)")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per scenario (default: 120)")
    parser.add_argument("--compare-batching", action="store_true", help="also run servers with --no-batching")
    parser.add_argument("--workers-list", default="1,2", help="`zoo serve --workers` of the servers compared (default: 1,2)")
    parser.add_argument("--server-args", default="", help="extra `zoo serve` arguments, e.g. --server-args='--inference-threads 1'")
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
            configurations = []
            for workers in args.workers_list.split(","):
                extra = args.server_args.split() + ["--workers", workers.strip()]
                configurations.append((f"{workers.strip()} worker(s), batching", extra))
                if args.compare_batching:
                    configurations.append((f"{workers.strip()} worker(s), no batching", extra + ["--no-batching"]))
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
    by_name = {r["name"]: r for r in sections[0][1]}
    health, goal, v2 = by_name["GET /health, closed loop"], by_name["/v1 n=1, closed loop"], by_name["/v2 n=1, closed loop"]
    rate = by_name[f"/v1 n=1, {args.rate:g} req/s offered"]
    met = goal["rps"] >= 300 and rate["p99_ms"] < 50 and goal["errors"] == rate["errors"] == 0
    print(f"bench: goal (>= 300 req/s at n=1, p99 < 50 ms at 300 req/s, 0 errors): {'met' if met else 'NOT met'}",
          file=sys.stderr)
    cheap = all(r["vs_health"] >= 0.5 and r["p99_ms"] <= 3 * health["p99_ms"] for r in (goal, v2))
    print(f"bench: per-request cost goal (/v1 and /v2 n=1 at >= 0.5x /health's rate, p99 within 3x): "
          f"{'met' if cheap else 'NOT met'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
