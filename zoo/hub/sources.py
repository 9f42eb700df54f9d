"""Where published files are fetched from, and one-line errors when that fails.

A source is a base URL under which `<base>/<name>/<file>` is each published file,
i.e. a copy of the repository's `export/` folder:

- `http://...`, `https://...`: any static file server (`python -m http.server`,
  nginx, S3, raw.githubusercontent.com/OWNER/REPO/REF/export);
- `file:///path/to/export` or a plain folder path;
- a URL template holding `{name}`, `{file}` or `{asset}` (`asset` is
  `<name>--<file>` with `/` turned into `--`), for flat hosts such as a GitHub
  release: `https://github.com/OWNER/REPO/releases/download/TAG/{asset}`;
- `hf://OWNER/REPO[@REVISION][/SUBFOLDER]`: a Hugging Face Hub repository
  holding `export/`'s layout, through `huggingface_hub` when it is installed.

Resolution order: the `source` argument, then `ZOO_HUB_URL`, then the
checkout's own `export/` (`zoo.paths.checkout_root()`, when it holds
`export/manifest.json`).
"""

import dataclasses
import functools
import http.client
import io
import os
import pathlib
import shutil
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

from zoo import paths, settings
from zoo.errors import ZooError
from zoo.files import clean_stale_temporaries
from zoo.hub import transfer
from zoo.hub.layout import clip, clip_repr

DEFAULT_TIMEOUT = transfer.DEFAULT_TIMEOUT
URL_LIMIT = 160
SCHEMES = ("http://", "https://", "file://", "hf://")
INDEX_FILE = "manifest.json"
_PLACEHOLDERS = ("{name}", "{file}", "{asset}")


@dataclasses.dataclass(frozen=True)
class HubSource:
    """A resolved source of published files.

    Attributes:
        kind: `"url"` (http, https, file) or `"hf"`.
        location: the base URL or URL template; for `hf`, `OWNER/REPO`.
        origin: where it came from: `"source"` (the argument), `"ZOO_HUB_URL"` or `"checkout"`.
        revision: `hf` revision, or `None`.
        subfolder: `hf` folder holding the names, or `""`.
    """

    kind: str
    location: str
    origin: str
    revision: object = None
    subfolder: str = ""

    @property
    def network(self):
        """Whether fetching from this source uses the network."""
        return not (self.kind == "url" and self.location.lower().startswith("file://"))

    def describe(self):
        if self.kind == "hf":
            revision = f"@{self.revision}" if self.revision else ""
            return f"hf://{self.location}{revision}{'/' + self.subfolder if self.subfolder else ''}"
        return self.location

    def url(self, name, relative):
        """The address of `<name>/<relative>` in this source."""
        if self.kind == "hf":
            return f"{self.describe()}/{name}/{relative}"
        if any(placeholder in self.location for placeholder in _PLACEHOLDERS):
            return self.location.format(
                name=name,
                file=urllib.parse.quote(relative),
                asset=urllib.parse.quote(asset_name(name, relative)),
            )
        return f"{self.location.rstrip('/')}/{urllib.parse.quote(name)}/{urllib.parse.quote(relative)}"


def asset_name(name, relative):
    """The flat file name of `<name>/<relative>` on a host without folders."""
    return f"{name}--{relative.replace('/', '--')}"


def checkout_export_dir():
    """The checkout's `export/` folder if it holds a published index, else `None`."""
    root = paths.checkout_root()
    if root is None or not (root / "export" / INDEX_FILE).is_file():
        return None
    return root / "export"


def missing_source_message():
    """The one line that says where published files can come from, or `None` when a source is configured.

    An installed wheel has no checkout `export/`, so without `ZOO_HUB_URL` the
    catalogue can be listed but nothing downloaded; `zoo list --pretrained` and
    every download say so in this line.

    Example:

    >>> missing_source_message()   # in a wheel install, ZOO_HUB_URL unset
    'No source for pretrained files: ... Set ZOO_HUB_URL to ...'
    """
    if settings.hub_url() is not None or checkout_export_dir() is not None:
        return None
    return (
        "No source for pretrained files: this installation is not a source checkout with a published export/ "
        "(export/manifest.json). Set ZOO_HUB_URL to where export/ is hosted: "
        "https://raw.githubusercontent.com/OWNER/REPO/TAG/export, http://HOST:PORT (python -m http.server in export/), "
        "file:///PATH/TO/export or hf://OWNER/REPO[@REVISION][/FOLDER] (pip install 'keras-gan-zoo[hub]')."
    )


def resolve_source(source=None):
    """Returns the `HubSource` to fetch from.

    Args:
        source: a URL, URL template, `hf://` address or folder. Defaults to
            `ZOO_HUB_URL`, else the checkout's `export/`.

    Raises:
        ZooError: when no source is configured or it is malformed.
    """
    origin = "source"
    if source is None:
        source = settings.hub_url()
        origin = settings.HUB_URL
    if source is None:
        checkout = checkout_export_dir()
        if checkout is None:
            raise ZooError(missing_source_message() + " Or pass source=.")
        return HubSource("url", checkout.as_uri(), "checkout")
    if isinstance(source, HubSource):
        return source
    text = os.fspath(source).strip()
    lowered = text.lower()
    if lowered.startswith("hf://"):
        return _hf_source(text, origin)
    if lowered.startswith(("http://", "https://", "file://")):
        parsed = urllib.parse.urlsplit(text)
        if parsed.scheme != "file" and not parsed.netloc:
            raise ZooError(f"Hub source has no host. Received: {origin}={clip_repr(text)}. Example: https://example.org/zoo/export.")
        return HubSource("url", text, origin)
    if "://" in text:
        raise ZooError(
            f"Unsupported hub source. Received: {origin}={clip_repr(text)}. "
            f"Allowed: {', '.join(SCHEMES)} URLs or a local folder."
        )
    folder = pathlib.Path(text).expanduser()
    try:
        is_folder = folder.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL
        is_folder = False
    if not is_folder:
        raise ZooError(
            f"Hub source folder does not exist. Received: {origin}={clip_repr(text)}. "
            "Pass a folder laid out like export/ or a URL (https://, file://, hf://)."
        )
    return HubSource("url", folder.resolve().as_uri(), origin)


def _hf_source(text, origin):
    rest = text[len("hf://"):].strip("/")
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ZooError(f"A hf:// source needs OWNER/REPO. Received: {origin}={clip_repr(text)}. Example: hf://OWNER/REPO.")
    repo, revision = parts[1], None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    return HubSource("hf", f"{parts[0]}/{repo}", origin, revision=revision or None, subfolder="/".join(parts[2:]))


def open_stream(source, name, relative, limits=None, watchdog=None, workdir=None):
    """Opens `<name>/<relative>` of `source` for reading.

    Args:
        source: a `HubSource`.
        name: the pretrained name.
        relative: the file's path inside the publication.
        limits: `zoo.hub.transfer.Limits` (or a number: the `timeout`).
            Defaults to the default limits.
        watchdog: the `zoo.hub.transfer.Watchdog` that cuts the connection
            when a limit passes; it stays armed with the deadline for the body.
        workdir: where an `hf://` source's client may write its temporary
            folder (the cache folder the file goes to). Defaults to the
            system's temporary folder.

    Returns:
        `(stream, length, url)`: a binary file-like object to read and close,
        the length the source announces (or `None`), and the address for
        messages.

    Raises:
        ZooError: one line for not found, refused connections, a server that
            connects but does not answer, the deadline and HTTP errors.
    """
    if not isinstance(limits, transfer.Limits):
        limits = transfer.check_limits() if limits is None else transfer.check_limits(timeout=limits)
    url = source.url(name, relative)
    what = f"{relative} of '{name}'"
    shown = clip(url, URL_LIMIT)
    if source.kind == "hf":
        stream = _hf_download(source, name, relative, shown, what, limits, workdir)
        return stream, os.path.getsize(stream.name), url
    watchdog = watchdog if watchdog is not None else transfer.Watchdog()
    remaining = limits.remaining()
    if remaining is not None and remaining <= 0:
        raise _deadline_error(limits, what, shown)
    if remaining is not None and remaining < limits.timeout:
        watchdog.arm(remaining, "deadline")
    else:
        watchdog.arm(limits.timeout, "head")
    try:
        response = _open_watched(url, what, shown, limits, watchdog)
    except BaseException:
        watchdog.disarm()
        raise
    watchdog.arm(limits.remaining(), "deadline")  # the body runs under the deadline only
    length = response.headers.get("Content-Length")
    try:
        length = int(length) if length is not None else None
    except ValueError:
        length = None
    return response, length, url


def _open_watched(url, what, shown, limits, watchdog):
    """Sends the request; returns the response once its head is in, or raises a one-line `ZooError`."""
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    opener = urllib.request.build_opener(_WatchedHTTPHandler(watchdog), _WatchedHTTPSHandler(watchdog))
    try:
        response = opener.open(request, timeout=limits.timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in (404, 410):
            raise ZooError(f"{what} was not found at {shown} (HTTP {error.code}); the source does not hold it.") from None
        raise ZooError(f"Could not download {what}: {shown} answered HTTP {error.code} {clip(str(error.reason))}.") from None
    except urllib.error.URLError as error:
        raise _connection_error(what, url, error.reason, watchdog, limits) from None
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets before the headers
        raise _connection_error(what, url, error, watchdog, limits) from None
    if watchdog.fired is not None:  # cut in the middle of the head, which then looked complete
        response.close()
        raise _connection_error(what, url, TimeoutError(), watchdog, limits)
    return response


def describe_failure(error):
    """A short reason for an exception raised while reading a transfer."""
    return transfer.describe_failure(error)


def _connection_error(what, url, reason, watchdog=None, limits=None):
    parsed = urllib.parse.urlsplit(url)
    shown = clip(url, URL_LIMIT)
    if parsed.scheme == "file" or isinstance(reason, FileNotFoundError):
        return ZooError(f"{what} was not found at {shown}; the source does not hold it.")
    host = clip(parsed.netloc or url, URL_LIMIT)
    fired = watchdog.fired if watchdog is not None else None
    if fired == "deadline":
        return _deadline_error(limits, what, shown)
    timed_out = isinstance(reason, (socket.timeout, TimeoutError))
    if watchdog is not None and watchdog.connected and (fired == "head" or timed_out):
        return ZooError(
            f"{host} accepted the connection but sent no complete response within {limits.timeout:g} s to the "
            f"request for {what} ({shown}); the server is stalled or overloaded. Try again later, raise --timeout "
            "(timeout=), or set ZOO_HUB_URL to another source."
        )
    if watchdog is not None and watchdog.connected and isinstance(
        reason, (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError)
    ):
        return ZooError(
            f"{host} accepted the connection but closed it without answering the request for {what} ({shown}); "
            "try again later or set ZOO_HUB_URL to another source."
        )
    if isinstance(reason, ConnectionRefusedError):
        detail = "connection refused"
    elif timed_out:
        detail = f"timed out after {limits.timeout:g} s" if limits is not None else "timed out"
    elif isinstance(reason, socket.gaierror):
        detail = "unknown host"
    else:
        detail = describe_failure(reason) if isinstance(reason, BaseException) else clip(str(reason))
    return ZooError(
        f"Could not connect to {host} ({detail}) to download {what}; "
        "set ZOO_HUB_URL to a reachable source or ZOO_OFFLINE=1 to use the cache only."
    )


def _deadline_error(limits, what, shown):
    return ZooError(
        f"Download of {what} from {shown} did not finish within the deadline of {limits.deadline:g} s "
        "(no response yet). Nothing was cached; raise --deadline (deadline=) or use a faster source."
    )


def _watched_connection(base):
    """A subclass of the `http.client` connection `base` that hands its sockets to a `Watchdog`."""

    class WatchedConnection(base):
        def __init__(self, *args, watchdog, **kwargs):
            super().__init__(*args, **kwargs)
            self._zoo_watchdog = watchdog
            create = self._create_connection

            def create_and_register(*create_args, **create_kwargs):
                sock = create(*create_args, **create_kwargs)
                watchdog.register(sock)  # the plain socket: covers a TLS handshake that hangs
                return sock

            self._create_connection = create_and_register

        def connect(self):
            super().connect()
            self._zoo_watchdog.register(self.sock)

    WatchedConnection.__name__ = f"Watched{base.__name__}"
    return WatchedConnection


_WATCHED = {}


def _watched_class(base):
    if base not in _WATCHED:
        _WATCHED[base] = _watched_connection(base)
    return _WATCHED[base]


def _watched_handler(base):
    """`base` (urllib's HTTP or HTTPS handler) opening connections that `watchdog` can cut."""

    class WatchedHandler(base):
        def __init__(self, watchdog):
            super().__init__()
            self._zoo_watchdog = watchdog

        def do_open(self, http_class, request, **kwargs):
            return super().do_open(
                functools.partial(_watched_class(http_class), watchdog=self._zoo_watchdog), request, **kwargs
            )

    WatchedHandler.__name__ = f"Watched{base.__name__}"
    return WatchedHandler


_WatchedHTTPHandler = _watched_handler(urllib.request.HTTPHandler)
_WatchedHTTPSHandler = _watched_handler(urllib.request.HTTPSHandler)


class _DownloadedFile(io.FileIO):
    """A file `huggingface_hub` wrote into a temporary folder; closing it removes the folder.

    The zoo copies it into its own cache while checking its sha256, so each file
    is kept once: in the zoo's cache, not also in the Hub's.
    """

    def __init__(self, path, folder):
        super().__init__(path, "rb")
        self._folder = folder

    def close(self):
        try:
            super().close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


HF_TEMPORARY = ".hf.tmp-"
"""The prefix of an hf:// download's temporary folder, `.hf.tmp-PID-XXXX` (see `zoo.files.writer_gone`)."""


def _hf_download(source, name, relative, url, what, limits, workdir=None):
    """Fetches `<subfolder>/<name>/<relative>` of a Hub repository with `huggingface_hub`; returns it open.

    `hf_hub_download(..., local_dir=TEMPORARY)` writes the file into a temporary
    folder instead of the Hub's cache (`HF_HOME`), which the returned stream
    removes once the zoo has checked and cached it. The folder sits in
    `workdir` (the cache folder) and is named after this process, so the next
    download there removes one that a killed run left. `HF_ENDPOINT` and
    `HF_TOKEN` are the Hub client's own settings. The client runs under the
    call's deadline (`limits.deadline`); its own timeouts stand for
    `limits.timeout` (`etag_timeout`); `limits.min_rate` is not applied to it.
    """
    try:
        import huggingface_hub
    except ImportError:
        raise ZooError(
            f"hf:// sources need the huggingface_hub package. Received: {source.origin}={clip_repr(source.describe())}. "
            "Install it with `pip install huggingface_hub` (or `pip install 'keras-gan-zoo[hub]'`)."
        ) from None
    filename = "/".join(part for part in (source.subfolder, name, relative) if part)
    if workdir is not None:
        clean_stale_temporaries(workdir, [HF_TEMPORARY + "*"])
    folder = tempfile.mkdtemp(prefix=f"{HF_TEMPORARY}{os.getpid()}-", dir=workdir)
    outcome = {}

    def fetch():
        try:
            outcome["path"] = huggingface_hub.hf_hub_download(
                repo_id=source.location, filename=filename, revision=source.revision, local_dir=folder,
                etag_timeout=limits.timeout,
            )
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=fetch, name="zoo-hf-download", daemon=True)
    try:
        worker.start()
        remaining = limits.remaining()
        worker.join(None if remaining is None else max(remaining, 0.0))
        if worker.is_alive():
            # The client cannot be interrupted: it keeps its folder, which a later run removes.
            raise ZooError(
                f"Download of {what} from {url} did not finish within the deadline of {limits.deadline:g} s. "
                "Nothing was cached; raise --deadline (deadline=) or use a faster source."
            )
        if "path" in outcome:
            return _DownloadedFile(outcome["path"], folder)
        error = outcome.get("error")
        shutil.rmtree(folder, ignore_errors=True)
        kind = type(error).__name__
        if "EntryNotFound" in kind or "RevisionNotFound" in kind:
            raise ZooError(f"{what} was not found at {url} ({kind}); the source does not hold it.") from None
        if "RepositoryNotFound" in kind:
            raise ZooError(f"Hugging Face repository {clip(source.location)} was not found (or is private). Received: {url}.") from None
        raise ZooError(
            f"Could not download {what} from {url} ({describe_failure(error)}); "
            "set ZOO_HUB_URL to a reachable source or ZOO_OFFLINE=1 to use the cache only."
        ) from None
    except BaseException:
        if not worker.is_alive():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _user_agent():
    from zoo import __version__

    return f"keras-gan-zoo/{__version__} (+urllib)"
