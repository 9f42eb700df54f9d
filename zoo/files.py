"""File helpers that never leave a half-written file behind."""

import contextlib
import hashlib
import os
import shutil
import tempfile


def write_bytes_atomically(path, data):
    """Writes `data` to `path` through a temporary file in the same folder + rename.

    Example:

    >>> write_bytes_atomically("out/grid.png", png_bytes)
    """
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as file:
            file.write(data)


@contextlib.contextmanager
def atomic_path(path, directory=False):
    """Yields a temporary sibling of `path` that replaces `path` on success.

    On an exception the temporary file (or folder, with `directory=True`) is
    removed and `path` is left as it was.

    Example:

    >>> with atomic_path("runs/dcgan/model.keras") as tmp:
    ...     model.save(tmp)
    """
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(path)
    if directory:
        temporary = tempfile.mkdtemp(dir=parent, prefix=f".{base}.tmp-")
    else:
        handle, temporary = tempfile.mkstemp(
            dir=parent, prefix=f".{base}.tmp-", suffix=os.path.splitext(base)[1]
        )
        os.close(handle)
    try:
        yield temporary
        if directory and os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(temporary, path)
    except BaseException:
        remove_path(temporary)
        raise


def remove_path(path):
    """Removes a file or a folder tree if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def sha256_file(path, chunk_size=1 << 20):
    """Returns the hex sha256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def json_default(value):
    """`json.dump(default=...)` for NumPy scalars/arrays (via `.item()`/`.tolist()`) and tuples."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Not JSON serializable: {type(value).__name__}")
