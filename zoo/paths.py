"""Where the zoo's own files are: the package, its data files and the source checkout.

The one module that looks at `__file__`. The package ships `catalogue.json` and
`serving/static/`; a source checkout (a clone of the repository, installed with
`pip install -e .` or run from its root) also has `export/` (the published
generators and classifiers), `models/` and `node_modules/`. An installed wheel
has no checkout: `checkout_root()` is `None` there.

Example:

>>> import zoo.paths
>>> zoo.paths.packaged_catalogue()
PosixPath('.../zoo/catalogue.json')
>>> zoo.paths.checkout_root()          # None when zoo is installed from a wheel
PosixPath('/home/me/keras-gan-zoo')
"""

import pathlib

PROJECT_NAME = "keras-gan-zoo"
CATALOGUE_FILE = "catalogue.json"

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def package_dir():
    """The folder of the `zoo` package (`.../zoo`)."""
    return _PACKAGE_DIR


def static_dir():
    """The browser page's files, shipped in the package (`zoo/serving/static`)."""
    return _PACKAGE_DIR / "serving" / "static"


def packaged_catalogue():
    """The catalogue shipped in the package (`zoo/catalogue.json`)."""
    return _PACKAGE_DIR / CATALOGUE_FILE


def checkout_root():
    """The source checkout the running `zoo` package belongs to, or `None`.

    A checkout is the folder above the package when it holds the project's
    `pyproject.toml` (`name = "keras-gan-zoo"`); an installed wheel has none.
    """
    root = _PACKAGE_DIR.parent
    try:
        project = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return root if f'name = "{PROJECT_NAME}"' in project else None
