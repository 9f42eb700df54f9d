"""Building a publication beside `export/<name>/` and swapping it in.

Example:

>>> staging = staging_folder("export", "dcgan-fashion-mnist", "publish")
>>> # ... write staging/dcgan-fashion-mnist/ ...
>>> replace_folder(os.path.join(staging, "dcgan-fashion-mnist"), "export/dcgan-fashion-mnist", staging)
"""

import os
import tempfile

from zoo.files import remove_path


def staging_folder(export_root, name, job):
    """A new hidden folder beside `export/<name>` for `job` ("publish", "reexport").

    Its name (`.NAME.tmp-PID-JOB-XXXX`) carries this process's id, so that the
    next publication of `name` removes what a killed one left and leaves a live
    one's alone: `publish_run` and `reexport_published` call
    `zoo.files.remove_dead_temporaries` first, before they judge `export/<name>`.
    """
    os.makedirs(export_root, exist_ok=True)
    return tempfile.mkdtemp(dir=export_root, prefix=f".{name}.tmp-{os.getpid()}-{job}-")


def replace_folder(folder, target, staging):
    """Moves `folder` to `target`; the previous `target` steps aside first and is removed after.

    A kill between the two renames leaves the previous folder parked as
    `.NAME.old-PID-XXXX/NAME`, which the next publication of the name puts back
    (`zoo.files.remove_dead_temporaries`) before it starts.
    """
    parent, base = os.path.split(target)
    previous = None
    if os.path.lexists(target):
        previous = tempfile.mkdtemp(dir=parent, prefix=f".{base}.old-{os.getpid()}-")
        os.replace(target, os.path.join(previous, base))
    try:
        os.replace(folder, target)
    except OSError:
        if previous is not None:
            os.replace(os.path.join(previous, base), target)
            remove_path(previous)
        raise
    if previous is not None:
        remove_path(previous)
