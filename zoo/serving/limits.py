"""How long `zoo serve` waits for clients, and how many it holds: `ServerLimits`.

uvicorn 0.54 (httptools) only times out idle keep-alive connections
(`timeout_keep_alive`): a connection that sends nothing, its headers byte by byte,
or its headers and then no body stays open for ever, and `limit_concurrency`
counts such connections, so ~1,024 slow clients got every other client a 503.
uvicorn has no option for a header or body deadline, so they are added here:

- `header_timeout`: a request's headers must arrive within this many seconds of
  its first byte (for a connection's first request: of the connection opening).
  Else a JSON 408 (nothing if no byte came) and the connection is closed. Done by
  the connection protocol (`protocol_class`): no ASGI app sees a request before
  its headers are complete.
- `body_timeout`: its body within this many seconds of its headers. The app's
  `BodyLimit` middleware answers a JSON 408 and closes the connection; the
  protocol closes a connection whose body is still not complete a second later
  (a body that no route reads, e.g. after a 413 or on a GET). A connection
  closed while its body still arrives lingers (`LingeringTransport`): it shuts
  its write side after the answer and drops the rest for up to
  `LINGER_SECONDS`, so the client reads the answer rather than a reset.
- `keep_alive`: an idle connection is closed after this many seconds (uvicorn's
  `timeout_keep_alive`).
- `max_connections`: open connections held at most. A new connection past the
  cap closes the one that has waited longest on its client (idle, or its request
  still arriving: it gets a 408), so slow clients cannot lock others out; only
  when every connection holds a complete request being answered is the newcomer
  refused, with a JSON 503.
- `max_body_bytes`: the largest request body (413).
"""

import collections
import dataclasses
import json

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
KEEP_ALIVE = 5.0
MAX_CONNECTIONS = 1024
# 1 MiB (nginx's default too): room for the largest valid v2 request as JSON text
# (256 x 64 latents, ~350 KB); /v1 bodies are a few hundred bytes.
MAX_BODY_BYTES = 1024 * 1024
MAX_SECONDS = 3600.0
MAX_CONNECTIONS_CAP = 1_000_000
# The protocol's backstop for a body no route reads fires this much after `body_timeout`,
# so that the app's own JSON 408 comes first when a route is reading.
BODY_GRACE = 1.0
# How long a connection closed while its request body still arrives keeps reading (and
# dropping) it, so the client reads the answer rather than a reset (see `LingeringTransport`).
LINGER_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """Deadlines and caps of the HTTP service (see the module docstring).

    Args:
        header_timeout: seconds for a request's headers to arrive. Defaults to `10`.
        body_timeout: seconds for its body to arrive after the headers. Defaults to `10`.
        keep_alive: seconds an idle connection is kept open. Defaults to `5`.
        max_connections: open connections held at most. Defaults to `1024`.
        max_body_bytes: largest request body. Defaults to 1 MiB.

    Example:

    >>> limits = ServerLimits(header_timeout=2, max_connections=256)
    >>> app = create_app(generators, limits=limits)
    """

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    keep_alive: float = KEEP_ALIVE
    max_connections: int = MAX_CONNECTIONS
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self):
        check_limits({field.name: getattr(self, field.name) for field in dataclasses.fields(self)})

    def describe(self):
        """The limits in one paragraph (the OpenAPI description, `zoo serve --help`)."""
        return (
            f"Limits: a request's headers must arrive within {self.header_timeout:g} s of its first byte "
            f"and its body within {self.body_timeout:g} s of the headers, else 408 and the connection is "
            f"closed; bodies are at most {self.max_body_bytes} bytes (413); idle connections are closed "
            f"after {self.keep_alive:g} s; at most {self.max_connections} connections are held: a new one "
            "past that closes the connection that has waited longest on its client (408), and gets a 503 "
            "only when every connection is busy with a complete request."
        )


# name: (kind, lowest, highest, lowest allowed exactly)
RANGES = {
    "header_timeout": (float, 0.0, MAX_SECONDS, False),
    "body_timeout": (float, 0.0, MAX_SECONDS, False),
    "keep_alive": (float, 0.0, MAX_SECONDS, False),
    "max_connections": (int, 1, MAX_CONNECTIONS_CAP, True),
    "max_body_bytes": (int, 1, 64 * 1024 * 1024, True),
}


def check_limits(values, spell=str, sep="="):
    """Raises `ZooError` for the first value of `values` out of `RANGES`.

    `spell` names an option in the message and `sep` joins it to its value
    (`--header-timeout 0` for the CLI, `header_timeout=0` for Python).
    """
    import math

    from zoo.errors import ZooError

    for name, value in values.items():
        kind, low, high, closed = RANGES[name]
        good = isinstance(value, int if kind is int else (int, float)) and not isinstance(value, bool)
        good = good and (isinstance(value, int) or math.isfinite(value))
        good = good and (value >= low if closed else value > low) and value <= high
        if not good:
            what = "a number of seconds" if kind is float else "an integer"
            bounds = f"{'[' if closed else '('}{low:g}, {high:g}]" if kind is float else f"{low}..{high}"
            shown = f"{value:g}" if isinstance(value, float) and kind is float else repr(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ZooError(
                f"{spell(name)} is out of range. Received: {spell(name)}{sep}{shown}. Allowed: {what} in {bounds}."
            )


def error_bytes(status, reason, message, type, default_headers=()):
    """A complete HTTP/1.1 response with a JSON `{"error": ...}` body and `connection: close`."""
    body = json.dumps(
        {"error": {"status": status, "field": None, "loc": [], "type": type, "message": message}},
        separators=(",", ":"),
    ).encode()
    head = [f"HTTP/1.1 {status} {reason}\r\n".encode()]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body),
             b"connection: close\r\n\r\n"]
    return b"".join(head) + body


def refused_app(max_connections):
    """An ASGI app answering the JSON 503 of a full server."""
    from zoo.serving.http_errors import error_response

    async def app(scope, receive, send):
        response = error_response(
            503, None, f"The server is full: all {max_connections} connections are busy answering requests. "
            "Retry shortly.", "server_full", headers={"Connection": "close", "Retry-After": "1"},
        )
        await response(scope, receive, send)

    return app


def protocol_class(limits):
    """uvicorn's httptools protocol with `limits`' deadlines and connection cap.

    One class per server: it keeps the connections that wait on their clients,
    longest-waiting first, to close one when a new connection is past the cap.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    attributes = {
        "limits": limits,
        "waiting": collections.OrderedDict(),  # connection -> None, longest waiting first
        "refused": staticmethod(refused_app(limits.max_connections)),
    }
    return type("LimitedHttpToolsProtocol", (LimitedProtocol, HttpToolsProtocol), attributes)


class LimitedProtocol:
    """The deadlines and the connection cap of `protocol_class`, mixed into uvicorn's protocol.

    `protocol_class` makes one subclass per server, setting `limits` (a
    `ServerLimits`), `waiting` (the server's connections that wait on their
    clients, longest-waiting first) and `refused` (the ASGI app answering
    a full server).
    """

    limits = None
    waiting = None
    refused = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lingering = False
        self._deadline = None
        self._arriving = False  # a request's bytes have begun and it is not complete
        self._in_body = False
        self._running = None  # the request being answered

    # -------------------------------------------------- the connection
    def connection_made(self, transport):
        super().connection_made(LingeringTransport(transport, self))
        self._arm(self.limits.header_timeout, self._headers_late)
        self.waiting[self] = None
        self._make_room()

    def connection_lost(self, exc):
        self._disarm()
        self.waiting.pop(self, None)
        # uvicorn tells only the newest request of a pipeline that the client left: the one
        # answering (and those queued) would write to the closed transport (uvloop raises).
        for cycle in (self._running, *(cycle for cycle, _ in self.pipeline)):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        super().connection_lost(exc)

    def _start_asgi_task(self, cycle, app):
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def data_received(self, data):
        if self._lingering:  # the rest of a body after the answer: dropped
            return
        if self._deadline is None and not self._arriving:
            # The first bytes of a following request (keep-alive or pipelined).
            self._arm(self.limits.header_timeout, self._headers_late)
        super().data_received(data)

    def send_400_response(self, msg):
        # uvicorn's is text/plain; every error of this service is JSON.
        if not self.transport.is_closing():
            self.transport.write(error_bytes(
                400, "Bad Request", "Malformed HTTP request. See /docs.", "bad_http",
                self.server_state.default_headers,
            ))
            self.transport.close_now()

    # -------------------------------------------------- parser callbacks
    def on_message_begin(self):
        super().on_message_begin()
        self._arriving = True
        if self._deadline is None:  # a request pipelined behind one that just arrived
            self._arm(self.limits.header_timeout, self._headers_late)

    def on_headers_complete(self):
        self._disarm()
        if not self._make_room():
            self.app = self.refused  # this connection only: it closes after the 503
        super().on_headers_complete()
        self._in_body = True
        self._arm(self.limits.body_timeout + BODY_GRACE, self._body_late)

    def on_message_complete(self):
        super().on_message_complete()
        self._disarm()
        self._arriving = self._in_body = False
        if self.cycle is not None and not self.cycle.response_complete:
            self.waiting.pop(self, None)  # busy answering: not to be closed for room

    def on_response_complete(self):
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.waiting.pop(self, None)
            self.waiting[self] = None  # idle (or its body still arriving): waits on the client

    def _linger(self):
        """Shuts the write side after the answer and drops the body still arriving, then closes."""
        self._lingering = True
        self._disarm()
        self.transport.write_eof()
        self.flow.resume_reading()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close_now)

    # -------------------------------------------------- deadlines
    def _arm(self, seconds, callback):
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _waiting_on_us(self):
        """True while the server, not the client, holds things up (a pipeline, a full buffer)."""
        answering = self._running is not None and not self._running.response_complete
        return self.flow.read_paused or (answering and not self._in_body)

    def _headers_late(self):
        self._deadline = None
        if self._waiting_on_us():
            return self._arm(self.limits.header_timeout, self._headers_late)
        message = f"The request headers did not arrive within {self.limits.header_timeout:g} s. Allowed: " \
                  f"a request's headers within {self.limits.header_timeout:g} s of its first byte."
        self._close(message if self._arriving else None)

    def _body_late(self):
        self._deadline = None
        if self.flow.read_paused:
            return self._arm(self.limits.body_timeout + BODY_GRACE, self._body_late)
        message = f"The request body did not arrive within {self.limits.body_timeout:g} s of its headers."
        self._close(message)

    def _close(self, message):
        """Closes the connection; a 408 with `message` first if no response has begun."""
        self.waiting.pop(self, None)
        self.connections.discard(self)  # at once: the cap counts open connections
        if self.transport.is_closing():
            return
        cycle = self.cycle if self._in_body else None
        answer = message is not None and (cycle is None or not cycle.response_started)
        if cycle is not None and not cycle.response_complete:
            # The app's task (waiting for the body) now reads a disconnect and sends nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        if answer:
            self.transport.write(error_bytes(
                408, "Request Timeout", message, "request_timeout", self.server_state.default_headers
            ))
        self.transport.close_now()

    def _make_room(self):
        """Closes the longest-waiting other connection while past the cap; `False` if none is."""
        while len(self.connections) > self.limits.max_connections:
            victim = next((connection for connection in self.waiting if connection is not self), None)
            if victim is None:
                return False
            victim._close(
                f"The request did not arrive in time: the server holds its {self.limits.max_connections} "
                "connections and this one had waited longest on its client." if victim._arriving else None
            )
        return True


class LingeringTransport:
    """A connection's transport whose `close()` lingers while the request body still arrives.

    A server that answers before reading the whole body (a 413 for a body declared
    too large) and then closes leaves the unread bytes in its socket, and the
    kernel answers them with a reset that can reach the client before the answer
    does (1 in 3 urllib requests of 1.2 MB did). So, as nginx's `lingering_close`
    does, `close()` then sends what is buffered and shuts the write side
    (`write_eof`), drops the rest of the body, and closes when the client does or
    after `LINGER_SECONDS`. `close_now()` closes at once (deadlines, bad HTTP).
    Everything else is the wrapped transport's.
    """

    def __init__(self, transport, protocol):
        self._transport, self._protocol = transport, protocol

    def close(self):
        protocol, transport = self._protocol, self._transport
        if protocol._in_body and not protocol._lingering and not transport.is_closing() and transport.can_write_eof():
            protocol._linger()
        else:
            transport.close()

    def close_now(self):
        self._transport.close()

    def __getattr__(self, name):
        return getattr(self._transport, name)
