"""`hf://` sources through the real `huggingface_hub`, pointed with `HF_ENDPOINT` at a Hub on 127.0.0.1.

`tests/hf_hub_server.py` serves the Hub's file routes (HEAD/GET `resolve`, LFS
redirects to a second "CDN" server, the Hub's `X-Error-Code` errors) for copies of
one publication of the checkout's `export/`. `zoo download` runs in a subprocess
with `HF_ENDPOINT` set, as a user would, with `HF_HOME` (the Hub's cache) and
`TMPDIR` in `tmp_path`, so the test sees every file either side writes.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

pytest.importorskip("huggingface_hub")

from hf_hub_server import HubServer, commit_of  # noqa: E402
from zoo import hub  # noqa: E402
from zoo.files import sha256_file  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
NAME = "lsgan-fashion-mnist"
REPO_ID = "zoo-org/gan-zoo"

pytestmark = pytest.mark.skipif(
    not (REPO / "export" / NAME / "manifest.json").is_file(), reason=f"export/{NAME} is not published in this checkout"
)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """The Hub repository's trees: `main` holds the names at its root, `v1` under `export/`,
    `broken` lacks generator.onnx and `tampered` has one byte of it changed."""
    root = tmp_path_factory.mktemp("hf")
    publication = REPO / "export" / NAME
    shutil.copytree(publication, root / "main" / NAME)
    shutil.copytree(publication, root / "v1" / "export" / NAME)
    shutil.copytree(publication, root / "broken" / NAME)
    (root / "broken" / NAME / "generator.onnx").unlink()
    shutil.copytree(publication, root / "tampered" / NAME)
    onnx = root / "tampered" / NAME / "generator.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    return {name: root / name for name in ("main", "v1", "broken", "tampered")}


@pytest.fixture(scope="module")
def server(trees):
    with HubServer({REPO_ID: dict(trees)}) as running:
        yield running


@pytest.fixture
def user(tmp_path, server):
    """Runs `zoo ARGV...` with `HF_ENDPOINT` set; returns `(result, folders)`."""
    folders = {name: tmp_path / name for name in ("cache", "hf_home", "tmp", "work")}
    for folder in folders.values():
        folder.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ZOO_", "HF_"))}
    env.update(
        HF_ENDPOINT=server.url, HF_HOME=str(folders["hf_home"]), HF_HUB_DISABLE_TELEMETRY="1",
        ZOO_CACHE=str(folders["cache"]), TMPDIR=str(folders["tmp"]),
    )

    def run(*argv):
        server.hub.requests.clear()
        server.cdn.requests.clear()
        result = subprocess.run(
            [sys.executable, "-m", "zoo", *argv], cwd=folders["work"], env=env,
            capture_output=True, text=True, timeout=300,
        )
        return result

    run.folders = folders
    return run


def files_under(folder):
    return sorted(path for path in pathlib.Path(folder).rglob("*") if path.is_file())


def test_a_revision_and_a_subfolder_download_through_the_real_client(user, server):
    entry = hub.get_entry(NAME)
    done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}@v1/export")
    assert done.returncode == 0, done.stderr
    path = pathlib.Path(done.stdout.strip().splitlines()[-1])
    assert sha256_file(path) == entry.files["onnx"].sha256
    requests = server.requests
    assert ("HEAD", f"/{REPO_ID}/resolve/v1/export/{NAME}/generator.onnx") in requests
    assert ("CDN GET", f"/{entry.files['onnx'].sha256}") in requests  # the LFS file came from the redirect
    # Kept once: in the zoo's cache; nothing in the Hub's cache, no temporary folder left.
    cached = files_under(user.folders["cache"])
    assert path in cached and [p.name for p in cached].count("generator.onnx") == 1
    assert os.stat(path).st_nlink == 1
    assert files_under(user.folders["hf_home"]) == []
    assert list(user.folders["tmp"].iterdir()) == []


def test_the_default_revision_at_the_repository_root(user, server):
    done = user("download", NAME, "--format", "manifest", "--source", f"hf://{REPO_ID}")
    assert done.returncode == 0, done.stderr
    assert ("HEAD", f"/{REPO_ID}/resolve/main/{NAME}/manifest.json") in server.requests


def test_a_missing_file_is_one_line_naming_it_and_exit_2(user):
    done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}@broken")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "generator.onnx" in lines[0] and "not found" in lines[0] and f"hf://{REPO_ID}@broken" in lines[0]
    assert not any(p.name == "generator.onnx" for p in files_under(user.folders["cache"]))
    assert list(user.folders["tmp"].iterdir()) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        (f"hf://{REPO_ID}@no-such-tag", "RevisionNotFound"),
        ("hf://zoo-org/no-such-repo", "repository zoo-org/no-such-repo was not found"),
    ],
)
def test_an_unknown_revision_or_repository_is_one_line(user, source, expected):
    done = user("download", NAME, "--format", "onnx", "--source", source)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr


def test_a_tampered_file_is_caught_by_sha256_and_nothing_is_kept(user, server):
    done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}@tampered")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "sha256 mismatch" in last and "generator.onnx" in last and "Traceback" not in done.stderr
    assert ("HEAD", f"/{REPO_ID}/resolve/tampered/{NAME}/generator.onnx") in server.requests
    leftovers = [p for p in files_under(user.folders["cache"]) if "generator.onnx" in p.name]
    assert leftovers == []
    assert list(user.folders["tmp"].iterdir()) == []
    assert files_under(user.folders["hf_home"]) == []


def test_the_commit_id_of_a_revision_works_too(user):
    done = user("download", NAME, "--format", "manifest", "--source", f"hf://{REPO_ID}@{commit_of('v1')}/export")
    assert done.returncode == 0, done.stderr


def test_a_killed_downloads_temporary_folder_is_removed_by_the_next_download(user):
    """The client's folder sits in the cache, named after its process: the next download removes a dead one's."""
    done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}")
    assert done.returncode == 0, done.stderr
    path = pathlib.Path(done.stdout.strip().splitlines()[-1])
    path.unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = path.parent / f".hf.tmp-{int(dead.stdout)}-x1y2z3"
    (stale / ".cache").mkdir(parents=True)
    (stale / NAME).mkdir()
    (stale / NAME / "generator.onnx").write_bytes(b"half a file")
    alive = path.parent / f".hf.tmp-{os.getpid()}-a1b2c3"  # a live process's: left alone
    alive.mkdir()
    done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}")
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and alive.is_dir()
    assert sha256_file(path) == hub.get_entry(NAME).files["onnx"].sha256
    alive.rmdir()


def test_the_deadline_holds_for_hf_sources(user, server):
    server.cdn.delay = 6.0
    try:
        started = time.monotonic()
        done = user("download", NAME, "--format", "onnx", "--source", f"hf://{REPO_ID}", "--deadline", "1")
        elapsed = time.monotonic() - started
    finally:
        server.cdn.delay = 0.0
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and "within the deadline of 1 s" in line and "Nothing was cached" in line, line
    assert elapsed < 5.5, elapsed  # the CDN answers after 6 s
    assert not [p for p in files_under(user.folders["cache"]) if p.name == "generator.onnx"]
