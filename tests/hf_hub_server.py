"""A small Hugging Face Hub on 127.0.0.1: the file routes `huggingface_hub` uses to download.

It answers what `huggingface_hub.hf_hub_download` asks (read from its
`file_download.py` and `utils/_http.py`):

- `HEAD /{repo_id}/resolve/{revision}/{path}`: the file's metadata. Every answer
  carries `X-Repo-Commit` (the revision's 40-hex commit). A small ("git") file
  answers 200 with `ETag` (its git blob id) and `Content-Length`; a large ("LFS")
  file answers 302 to a second server (the "CDN", another origin, so the client
  stops there) with `X-Linked-Etag` (its sha256) and `X-Linked-Size`.
- `GET` of the same route: the bytes (or the same 302); `GET {cdn}/{sha256}`: an
  LFS file's bytes.
- errors as the Hub sends them: 404 with `X-Error-Code: RepoNotFound`,
  `RevisionNotFound` or `EntryNotFound` (and `X-Error-Message`), which the client
  turns into its `RepositoryNotFoundError`, `RevisionNotFoundError` and
  `RemoteEntryNotFoundError`.
- `GET /api/models/{repo_id}/revision/{revision}`: `model_info` (`sha`, `siblings`).

A repository is `{revision: folder}`: each folder is the repository's tree at
that revision. `server.requests` records `(method, path)` of every request.

Example:

>>> with HubServer({"org/zoo": {"main": export_copy}}) as hub:
...     env = {"HF_ENDPOINT": hub.url}     # then `zoo download NAME --source hf://org/zoo`
"""

import functools
import hashlib
import http.server
import json
import os
import threading
import time
import urllib.parse

LFS_SUFFIXES = (".onnx", ".keras", ".tflite", ".zip", ".pb")


def commit_of(revision):
    """The 40-hex commit id this Hub gives a revision name."""
    return hashlib.sha1(revision.encode()).hexdigest()


def git_blob_id(data):
    """The id git gives a file's bytes (the Hub's `ETag` of a non-LFS file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_bytes(self, status, data, headers=(), body=True):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


class _HubHandler(_Quiet):
    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def answer(self, body):
        self.server.requests.append((self.command, self.path))
        path = urllib.parse.urlsplit(self.path).path
        parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and "revision" in parts:
            at = parts.index("revision")
            return self.model_info("/".join(parts[2:at]), "/".join(parts[at + 1:]), body)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), body)
        self.error(404, "RepoNotFound", "Repository not found", body=body)

    def error(self, status, code, message, commit=None, body=True):
        headers = [("X-Error-Code", code), ("X-Error-Message", message), ("Content-Type", "application/json")]
        if commit is not None:
            headers.append(("X-Repo-Commit", commit))
        self.send_bytes(status, json.dumps({"error": message}).encode(), headers, body)

    def tree(self, repo_id, revision, body):
        """`(folder, commit)` of a revision (a name or a commit id), or `None` after sending the error."""
        revisions = self.server.repos.get(repo_id)
        if revisions is None:
            self.error(404, "RepoNotFound", "Repository not found", body=body)
            return None
        for name, folder in revisions.items():
            if revision in (name, commit_of(name)):
                return folder, commit_of(name)
        self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}", body=body)
        return None

    def resolve(self, repo_id, revision, filename, body):
        found = self.tree(repo_id, revision, body)
        if found is None:
            return
        folder, commit = found
        file = os.path.join(folder, *filename.split("/"))
        if ".." in filename.split("/") or not os.path.isfile(file):
            return self.error(404, "EntryNotFound", f"Entry not found: {filename}", commit, body)
        with open(file, "rb") as handle:
            data = handle.read()
        if filename.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(data).hexdigest()
            self.server.cdn.blobs[sha256] = data
            headers = [
                ("X-Repo-Commit", commit), ("ETag", f'"{git_blob_id(data)}"'), ("X-Linked-Etag", f'"{sha256}"'),
                ("X-Linked-Size", str(len(data))), ("Location", f"{self.server.cdn.url}/{sha256}"),
            ]
            return self.send_bytes(302, b"", headers, body)
        headers = [("X-Repo-Commit", commit), ("ETag", f'"{git_blob_id(data)}"'),
                   ("Content-Type", "application/octet-stream")]
        self.send_bytes(200, data, headers, body)

    def model_info(self, repo_id, revision, body):
        found = self.tree(repo_id, revision, body)
        if found is None:
            return
        folder, commit = found
        siblings = [
            {"rfilename": os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")}
            for root, _, files in os.walk(folder) for name in files
        ]
        info = {"id": repo_id, "modelId": repo_id, "sha": commit, "private": False, "siblings": sorted(
            siblings, key=lambda item: item["rfilename"])}
        self.send_bytes(200, json.dumps(info).encode(), [("Content-Type", "application/json")], body)


class _CdnHandler(_Quiet):
    def do_GET(self):
        self.server.requests.append((self.command, self.path))
        time.sleep(self.server.delay)  # a slow CDN (`HubServer.cdn.delay`, seconds)
        data = self.server.blobs.get(urllib.parse.urlsplit(self.path).path.strip("/"))
        if data is None:
            return self.send_bytes(404, b"no such blob")
        self.send_bytes(200, data, [("Content-Type", "application/octet-stream")])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up is not news


class HubServer:
    """The Hub (`url`, for `HF_ENDPOINT`) and its CDN, two servers on 127.0.0.1; a context manager.

    Args:
        repos: `{repo_id: {revision: folder}}`.
    """

    def __init__(self, repos):
        self.hub = _Server(("127.0.0.1", 0), _HubHandler)
        self.cdn = _Server(("127.0.0.1", 0), _CdnHandler)
        self.hub.repos, self.hub.cdn, self.hub.requests = repos, self.cdn, []
        self.cdn.blobs, self.cdn.requests, self.cdn.delay = {}, [], 0.0
        self.cdn.url = f"http://127.0.0.1:{self.cdn.server_address[1]}"
        self.url = f"http://127.0.0.1:{self.hub.server_address[1]}"
        self._threads = []

    @property
    def requests(self):
        """`(method, path)` of every request to the Hub, then to the CDN."""
        return list(self.hub.requests) + [("CDN " + method, path) for method, path in self.cdn.requests]

    def __enter__(self):
        for server in (self.hub, self.cdn):
            thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc):
        for server in (self.hub, self.cdn):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
