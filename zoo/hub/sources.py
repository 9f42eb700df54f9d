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
checkout's own `export/` (found beside the package through
`export/manifest.json`).
"""

import dataclasses
import http.client
import os
import pathlib
import socket
import urllib.error
import urllib.parse
import urllib.request

from zoo.errors import ZooError

DEFAULT_TIMEOUT = 30.0
SCHEMES = ("http://", "https://", "file://", "hf://")
# <repo>/zoo/hub/sources.py -> <repo>/export
CHECKOUT_EXPORT = pathlib.Path(__file__).resolve().parents[2] / "export"
INDEX_FILE = "manifest.json"
_PLACEHOLDERS = ("{name}", "{file}", "{asset}")


@dataclasses.dataclass(frozen=True)
class Source:
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
    return CHECKOUT_EXPORT if (CHECKOUT_EXPORT / INDEX_FILE).is_file() else None


def resolve_source(source=None):
    """Returns the `Source` to fetch from.

    Args:
        source: a URL, URL template, `hf://` address or folder. Defaults to
            `ZOO_HUB_URL`, else the checkout's `export/`.

    Raises:
        ZooError: when no source is configured or it is malformed.
    """
    origin = "source"
    if source is None:
        source = os.environ.get("ZOO_HUB_URL", "").strip() or None
        origin = "ZOO_HUB_URL"
    if source is None:
        checkout = checkout_export_dir()
        if checkout is None:
            raise ZooError(
                "No source for pretrained files: this installation has no published export/ folder beside it "
                "(export/manifest.json). "
                "Set ZOO_HUB_URL to where export/ is hosted (https://HOST/PATH, file:///PATH or "
                "hf://OWNER/REPO), or pass source=."
            )
        return Source("url", checkout.as_uri(), "checkout")
    if isinstance(source, Source):
        return source
    text = os.fspath(source).strip()
    lowered = text.lower()
    if lowered.startswith("hf://"):
        return _hf_source(text, origin)
    if lowered.startswith(("http://", "https://", "file://")):
        parsed = urllib.parse.urlsplit(text)
        if parsed.scheme != "file" and not parsed.netloc:
            raise ZooError(f"Hub source has no host. Received: {origin}={text!r}. Example: https://example.org/zoo/export.")
        return Source("url", text, origin)
    if "://" in text:
        raise ZooError(
            f"Unsupported hub source. Received: {origin}={text!r}. "
            f"Allowed: {', '.join(SCHEMES)} URLs or a local folder."
        )
    folder = pathlib.Path(text).expanduser()
    if not folder.is_dir():
        raise ZooError(
            f"Hub source folder does not exist. Received: {origin}={text!r}. "
            "Pass a folder laid out like export/ or a URL (https://, file://, hf://)."
        )
    return Source("url", folder.resolve().as_uri(), origin)


def _hf_source(text, origin):
    rest = text[len("hf://"):].strip("/")
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ZooError(f"A hf:// source needs OWNER/REPO. Received: {origin}={text!r}. Example: hf://OWNER/REPO.")
    repo, revision = parts[1], None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    return Source("hf", f"{parts[0]}/{repo}", origin, revision=revision or None, subfolder="/".join(parts[2:]))


def open_stream(source, name, relative, timeout=DEFAULT_TIMEOUT):
    """Opens `<name>/<relative>` of `source` for reading.

    Returns:
        `(stream, length, url)`: a binary file-like object to read and close,
        the length the source announces (or `None`), and the address for
        messages.

    Raises:
        ZooError: one line for not found, refused connections, timeouts and
            HTTP errors.
    """
    url = source.url(name, relative)
    what = f"{relative} of '{name}'"
    if source.kind == "hf":
        path = _hf_download(source, name, relative, url, what)
        return open(path, "rb"), os.path.getsize(path), url
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in (404, 410):
            raise ZooError(f"{what} was not found at {url} (HTTP {error.code}); the source does not hold it.") from None
        raise ZooError(f"Could not download {what}: {url} answered HTTP {error.code} {error.reason}.") from None
    except urllib.error.URLError as error:
        raise _connection_error(what, url, error.reason) from None
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets before the headers
        raise _connection_error(what, url, error) from None
    length = response.headers.get("Content-Length")
    try:
        length = int(length) if length is not None else None
    except ValueError:
        length = None
    return response, length, url


def describe_failure(error):
    """A short reason for an exception raised while reading a transfer."""
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, http.client.IncompleteRead):
        return "connection closed early"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:160] if text else type(error).__name__


def _connection_error(what, url, reason):
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file" or isinstance(reason, FileNotFoundError):
        return ZooError(f"{what} was not found at {url}; the source does not hold it.")
    host = parsed.netloc or url
    if isinstance(reason, ConnectionRefusedError):
        detail = "connection refused"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        detail = "timed out"
    elif isinstance(reason, socket.gaierror):
        detail = "unknown host"
    else:
        detail = describe_failure(reason) if isinstance(reason, BaseException) else str(reason)
    return ZooError(
        f"Could not connect to {host} ({detail}) to download {what}; "
        "set ZOO_HUB_URL to a reachable source or ZOO_OFFLINE=1 to use the cache only."
    )


def _hf_download(source, name, relative, url, what):
    try:
        import huggingface_hub
    except ImportError:
        raise ZooError(
            f"hf:// sources need the huggingface_hub package. Received: {source.origin}={source.describe()!r}. "
            "Install it with `pip install huggingface_hub` (or `pip install 'keras-gan-zoo[hub]'`)."
        ) from None
    filename = "/".join(part for part in (source.subfolder, name, relative) if part)
    try:
        return huggingface_hub.hf_hub_download(repo_id=source.location, filename=filename, revision=source.revision)
    except Exception as error:  # huggingface_hub's error classes vary between versions
        kind = type(error).__name__
        if "EntryNotFound" in kind or "RevisionNotFound" in kind:
            raise ZooError(f"{what} was not found at {url} ({kind}); the source does not hold it.") from None
        if "RepositoryNotFound" in kind:
            raise ZooError(f"Hugging Face repository {source.location} was not found (or is private). Received: {url}.") from None
        raise ZooError(
            f"Could not download {what} from {url} ({describe_failure(error)}); "
            "set ZOO_HUB_URL to a reachable source or ZOO_OFFLINE=1 to use the cache only."
        ) from None


def _user_agent():
    from zoo import __version__

    return f"keras-gan-zoo/{__version__} (+urllib)"
