"""The package as users get it: a wheel installed into a fresh environment outside the checkout.

The wheel is built from a copy of the checkout's packaging inputs (`pyproject.toml`,
`README.md`, `zoo/`) with `pip wheel`, installed with `pip install --no-deps` into a
new venv in `tmp_path`, and its `zoo` console script is run from a folder outside
the checkout. To stay fast and offline, the fresh venv gets the dependencies that
are already installed through a `.pth` line naming this interpreter's
site-packages; that folder holds no `zoo` (the checkout's editable install is a
`.pth` hook there, which Python does not follow from a `.pth` line), and the test
asserts that `zoo` is imported from the new venv. The `slow` variant installs the
wheel with its real dependencies (`[cpu,serve]`) from the package index instead.

Published files come from a mirror: a real `http.server` on 127.0.0.1 serving a
copy of one publication of the checkout's `export/`, named by `ZOO_HUB_URL`.
"""

import contextlib
import functools
import http.server
import json
import os
import pathlib
import re
import shutil
import site
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile

import pytest

from zoo import hub
from zoo.files import sha256_file

REPO = pathlib.Path(__file__).resolve().parent.parent
NAME = "lsgan-fashion-mnist"  # the smallest published generator
PACKAGE_DATA = ("zoo/catalogue.json", "zoo/serving/static/index.html", "zoo/serving/static/app.js")

pytestmark = pytest.mark.skipif(
    not (REPO / "export" / NAME / "manifest.json").is_file(), reason=f"export/{NAME} is not published in this checkout"
)


# ------------------------------------------------------------------- set-up


def build_wheel(out):
    """Builds the wheel from a copy of the packaging inputs (the checkout gets no build/ or egg-info)."""
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(out / "dist")],
        check=True, cwd=out, capture_output=True, timeout=300,
    )
    (wheel,) = (out / "dist").glob("keras_gan_zoo-*.whl")
    return wheel


def make_venv(folder, system_site_packages=False):
    """A new venv at `folder` (no pip in it: the running pip installs into it with `--python`)."""
    command = [sys.executable, "-m", "venv", "--without-pip", str(folder)]
    if system_site_packages:
        command.insert(-1, "--system-site-packages")
    subprocess.run(command, check=True, timeout=120)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    return python, pathlib.Path(purelib)


def clean_env(tmp_path, **extra):
    """The environment of a user's shell: no zoo variables, no PYTHONPATH, a fresh cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ZOO_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(ZOO_CACHE=str(tmp_path / "cache"), PYTHONUNBUFFERED="1", **extra)
    return env


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def mirror(folder):
    """Yields the base URL of a `ThreadingHTTPServer` on 127.0.0.1 serving `folder` (a copy of export/)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def copy_publication(out):
    """A copy of the checkout's `export/` holding one publication and the index."""
    out.mkdir()
    shutil.copy2(REPO / "export" / "manifest.json", out / "manifest.json")
    shutil.copytree(REPO / "export" / NAME, out / NAME)
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(venv, zoo_script)`: the wheel installed into a fresh venv, dependencies through a `.pth` line."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root)
    venv = root / "venv"
    python, purelib = make_venv(venv)
    (purelib / "_zoo_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return {"root": root, "wheel": wheel, "venv": venv, "python": python, "zoo": venv / "bin" / "zoo"}


def run_zoo(installed, cwd, env, *argv, timeout=300):
    return subprocess.run(
        [str(installed["zoo"]), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def user(tmp_path):
    """A working folder outside the checkout."""
    work = tmp_path / "work"
    work.mkdir()
    assert REPO not in work.resolve().parents
    return work


# ------------------------------------------------------------------- tests


def test_the_wheel_ships_its_package_data(installed):
    with zipfile.ZipFile(installed["wheel"]) as archive:
        names = set(archive.namelist())
    static = {f"zoo/serving/static/{path.name}" for path in (REPO / "zoo" / "serving" / "static").iterdir()
              if path.is_file()}
    assert static and static <= names
    assert set(PACKAGE_DATA) <= names
    assert not any(name.startswith(("export/", "tests/", "models/")) for name in names)


def test_zoo_is_imported_from_the_new_venv_not_the_checkout(installed, user, tmp_path):
    probe = (
        "import json, zoo, zoo.paths; print(json.dumps([zoo.__file__, str(zoo.paths.checkout_root()), "
        "str(zoo.paths.static_dir()), str(zoo.paths.packaged_catalogue())]))"
    )
    done = subprocess.run([str(installed["python"]), "-c", probe], cwd=user, env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=120, check=True)
    module, checkout, static, catalogue = json.loads(done.stdout)
    venv = installed["venv"].resolve()
    assert venv in pathlib.Path(module).resolve().parents
    assert checkout == "None"
    assert (pathlib.Path(static) / "index.html").is_file() and venv in pathlib.Path(static).resolve().parents
    assert json.loads(pathlib.Path(catalogue).read_text())  # the packaged catalogue, as shipped
    assert pathlib.Path(catalogue).read_bytes() == (REPO / "zoo" / "catalogue.json").read_bytes()


def test_without_a_hub_url_list_and_download_say_in_one_line_where_files_come_from(installed, user, tmp_path):
    env = clean_env(tmp_path)
    listed = run_zoo(installed, user, env, "list", "--pretrained")
    assert listed.returncode == 0, listed.stderr
    assert NAME in listed.stdout
    hint = listed.stderr.strip().splitlines()
    assert len(hint) == 1 and "ZOO_HUB_URL" in hint[0] and "hf://OWNER/REPO" in hint[0] and "file://" in hint[0]
    failed = run_zoo(installed, user, env, "download", NAME)
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in failed.stderr
    assert "No source for pretrained files" in lines[0] and "ZOO_HUB_URL" in lines[0] and "hf://" in lines[0]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.onnx"))


def test_list_download_and_sample_from_a_mirror(installed, user, tmp_path):
    published = copy_publication(tmp_path / "mirror")
    entry = hub.get_entry(NAME)
    with mirror(published) as url:
        env = clean_env(tmp_path, ZOO_HUB_URL=url)
        listed = run_zoo(installed, user, env, "list", "--pretrained")
        assert listed.returncode == 0 and NAME in listed.stdout and listed.stderr.strip() == "", listed.stderr
        done = run_zoo(installed, user, env, "download", NAME, "--format", "onnx")
        assert done.returncode == 0, done.stderr
        path = pathlib.Path(done.stdout.strip().splitlines()[-1])
        assert (tmp_path / "cache") in path.parents and sha256_file(path) == entry.files["onnx"].sha256
        sampled = run_zoo(installed, user, env, "sample", NAME, "--n", "4", "--out", "grid.png")
    assert sampled.returncode == 0, sampled.stderr
    assert (user / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any(user.glob("*.tmp*"))


def http_get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_serve_with_its_page_static_files_and_models_json(installed, user, tmp_path):
    with mirror(copy_publication(tmp_path / "mirror")) as url:
        check_serve(installed, user, clean_env(tmp_path, ZOO_HUB_URL=url))


def check_serve(installed, user, env):
    """`zoo serve NAME` from the installed package answers /health, its page, every static file and /models.json."""
    process = subprocess.Popen(
        [str(installed["zoo"]), "serve", NAME, "--port", "0"], cwd=user, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, f"zoo serve did not start: {line}{process.stderr.read() if process.poll() is not None else ''}"
        base = f"http://127.0.0.1:{match.group(1)}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = http_get(base + "/health")
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "zoo serve never answered /health"
                time.sleep(0.1)
        assert status == 200
        static = installed["venv"] / "lib"
        (static_dir,) = static.glob("python*/site-packages/zoo/serving/static")
        status, kind, page = http_get(base + "/")
        assert status == 200 and "text/html" in kind and page == (static_dir / "index.html").read_bytes()
        for file in sorted(static_dir.iterdir()):
            status, _, body = http_get(f"{base}/static/{file.name}")
            assert status == 200 and body == file.read_bytes(), file.name
        status, _, body = http_get(base + "/models.json")
        index = json.loads(body)
        assert status == 200 and NAME in json.dumps(index)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.slow
def test_a_wheel_installed_with_its_real_dependencies_lists_downloads_and_samples(tmp_path):
    """`pip install 'WHEEL[cpu,serve]'` from the package index into a bare venv (minutes: TensorFlow)."""
    root = tmp_path / "build"
    root.mkdir()
    wheel = build_wheel(root)
    python, _ = make_venv(tmp_path / "venv")
    subprocess.run([str(python), "-m", "ensurepip"], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[cpu,serve]"],
        check=True, timeout=1500,
    )
    installed = {"venv": tmp_path / "venv", "python": python, "zoo": tmp_path / "venv" / "bin" / "zoo"}
    work = tmp_path / "work"
    work.mkdir()
    with mirror(copy_publication(tmp_path / "mirror")) as url:
        env = clean_env(tmp_path, ZOO_HUB_URL=url)
        for argv in (("list", "--pretrained"), ("download", NAME, "--format", "onnx"),
                     ("sample", NAME, "--n", "4", "--out", "grid.png")):
            done = run_zoo(installed, work, env, *argv, timeout=900)
            assert done.returncode == 0, (argv, done.stderr)
        check_serve(installed, work, env)
    assert (work / "grid.png").is_file()
