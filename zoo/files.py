"""File helpers that never leave a half-written file behind."""

import contextlib
import hashlib
import os
import shutil
import tempfile

from zoo.checks import received


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
    remove_dead_temporaries(parent, base)
    prefix = f".{base}.tmp-{os.getpid()}-"
    if directory:
        temporary = tempfile.mkdtemp(dir=parent, prefix=prefix)
    else:
        handle, temporary = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=os.path.splitext(base)[1])
        os.close(handle)
    try:
        yield temporary
        # mkstemp/mkdtemp create 0600/0700; the result gets the mode an ordinary
        # `open`/`mkdir` would give it (or keeps the mode of the file it replaces).
        os.chmod(temporary, _final_mode(path, directory))
        if directory and os.path.isdir(path):
            # The old folder steps aside first, so that a kill leaves it whole: the
            # next write of `path` puts it back if the new one never arrived.
            previous = tempfile.mkdtemp(dir=parent, prefix=f".{base}.old-{os.getpid()}-")
            os.replace(path, os.path.join(previous, base))
            os.replace(temporary, path)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(temporary, path)
    except BaseException:
        remove_path(temporary)
        raise


def current_umask():
    """This process's umask (read from /proc where possible, so no other thread sees it change)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_mode(path, directory):
    if not directory and os.path.isfile(path):
        return os.stat(path).st_mode & 0o7777
    return (0o777 if directory else 0o666) & ~current_umask()


def remove_dead_temporaries(parent, base):
    """Removes the temporaries of `atomic_path(parent/base)` whose writing process is gone.

    A killed writer leaves `.BASE.tmp-PID-XXXX` (the new file or folder) and,
    when it was killed while replacing a folder, `.BASE.old-PID-XXXX/BASE` (the
    previous one) behind. The next write of the same path removes them when
    process PID no longer runs, after putting the previous folder back if the
    new one never took its place. Temporaries of a live process (another export
    of the same folder, say) are left alone.

    Returns:
        The names removed.
    """
    removed = []
    try:
        entries = sorted(os.scandir(parent), key=lambda entry: entry.name)
    except OSError:
        return removed
    for kind in ("old", "tmp"):
        prefix = f".{base}.{kind}-"
        for entry in entries:
            if not entry.name.startswith(prefix):
                continue
            if not writer_gone(entry.name[len(prefix):]):
                continue
            kept = os.path.join(entry.path, base)
            if kind == "old" and os.path.lexists(kept) and not os.path.lexists(os.path.join(parent, base)):
                os.replace(kept, os.path.join(parent, base))  # killed between the two renames: restore
            remove_path(entry.path)
            removed.append(entry.name)
    return removed


def writer_gone(suffix):
    """Whether the process that wrote a temporary is gone, from its name after `.tmp-`/`.old-`.

    `atomic_path` names its temporaries `.BASE.tmp-PID-XXXX`; a name without a
    process id comes from an older zoo that did not write one, and is stale.

    Example:

    >>> writer_gone(f"{os.getpid()}-k2j4x1ab.keras")
    False
    """
    pid = suffix.split("-", 1)[0]
    return not pid.isdigit() or not process_alive(int(pid))


def process_alive(pid):
    """Whether a process with id `pid` runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def temporary_pattern(name):
    """The `fnmatch` pattern of the temporaries `atomic_path` makes for a file named `name`.

    Example:

    >>> temporary_pattern("model.keras")
    '.model.keras.tmp-*'
    """
    return f".{name}.tmp-*"


def clean_stale_temporaries(folder, patterns):
    """Removes the temporaries that a killed writer left in `folder`.

    Only entries of `folder` itself (not of its subfolders) whose names match one
    of `patterns` (`fnmatch` patterns such as `".model.keras.tmp-*"`, see
    `temporary_pattern`) and whose writer is gone (`writer_gone`, the rule
    `remove_dead_temporaries` follows) are removed; nothing else is touched. A
    missing folder is no error.

    Returns:
        The sorted names that were removed.

    Example:

    >>> clean_stale_temporaries("runs/dcgan", [temporary_pattern("model.keras")])
    ['.model.keras.tmp-k2j4x1ab.keras']
    """
    import fnmatch

    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for entry in entries:
        if not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns):
            continue
        if writer_gone(entry.name[entry.name.rfind(".tmp-") + len(".tmp-"):]):
            remove_path(entry.path)
            removed.append(entry.name)
    return sorted(removed)


def nearest_existing(path):
    """`path` itself or its nearest existing ancestor."""
    current = path
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _check_can_create_in(folder, name, value, what):
    """Raises a `ZooError` unless a file can be created in the existing `folder`."""
    from zoo.errors import ZooError

    if not os.path.isdir(folder):
        raise ZooError(
            f"{name} cannot be created: {folder} is a file, not a folder. "
            f"Received: {received(name, value)}. Give a path to {what}."
        )
    try:
        # O_TMPFILE where supported: no name ever appears in `folder`.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ZooError(
            f"{name} is not writable: cannot create files in {folder} ({error.strerror or error}). "
            f"Received: {received(name, value)}. Give a path to {what} in a writable place."
        ) from None


def check_writable_folder(path, name="out"):
    """Checks, before any work, that `path` is (or can be made) a writable folder.

    Args:
        path: the folder, which may not exist yet.
        name: how the user gave it, for the error: `"out"` or `"--out"`.

    Returns:
        The absolute path.

    Raises:
        ZooError: `path` is a file, lies under a file, or is not writable.
    """
    from zoo.errors import ZooError

    absolute = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.lexists(absolute) and not os.path.isdir(absolute):
        raise ZooError(
            f"{name} must be a folder, but {absolute} is a file. "
            f"Received: {received(name, os.fspath(path))}. Give a new or existing folder."
        )
    _check_can_create_in(nearest_existing(absolute), name, os.fspath(path), "a folder")
    return absolute


def check_writable_file(path, name="out"):
    """Checks, before any work, that the file `path` can be written (created or replaced).

    Args:
        path: the file, which may not exist yet (its folders are created).
        name: how the user gave it, for the error: `"out"` or `"--out"`.

    Returns:
        The absolute path.

    Raises:
        ZooError: `path` is a folder, lies under a file, or is not writable.
    """
    from zoo.errors import ZooError

    absolute = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isdir(absolute):
        raise ZooError(
            f"{name} must be a file, but {absolute} is a folder. "
            f"Received: {received(name, os.fspath(path))}. Give a file path, e.g. {os.path.join(os.fspath(path), 'grid.png')}."
        )
    _check_can_create_in(nearest_existing(os.path.dirname(absolute)), name, os.fspath(path), "a file")
    return absolute
