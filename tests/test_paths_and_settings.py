"""Tests of the declared mechanisms: `zoo.paths`, `zoo.settings`, `zoo.lazy`, `zoo.keras_registration`."""

import os
import subprocess
import sys
import warnings

import pytest

import zoo
from zoo import lazy, paths, settings
from zoo.errors import ZooError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ paths


def test_paths_of_a_checkout():
    assert paths.package_dir() == paths.packaged_catalogue().parent
    assert (paths.static_dir() / "index.html").is_file()
    assert os.path.samefile(paths.checkout_root(), REPO)


def test_a_folder_without_the_projects_pyproject_is_no_checkout(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "zoo"
    package.mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", package)
    assert paths.checkout_root() is None
    (tmp_path / "site-packages" / "pyproject.toml").write_text('[project]\nname = "another-project"\n')
    assert paths.checkout_root() is None
    (tmp_path / "site-packages" / "pyproject.toml").write_text('[project]\nname = "keras-gan-zoo"\n')
    assert paths.checkout_root() == tmp_path / "site-packages"


def test_publishing_outside_a_checkout_is_refused_in_one_line(monkeypatch):
    from zoo import publish

    monkeypatch.setattr(paths, "checkout_root", lambda: None)  # as from an installed wheel
    with pytest.raises(ZooError, match="not run from a source checkout") as error:
        publish.rebuild_catalogue()
    assert "\n" not in str(error.value) and "--repo-root" in str(error.value)


# --------------------------------------------------------------- settings


def test_settings_read_the_environment_when_called(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_OFFLINE", " 1 ")
    assert settings.offline()
    monkeypatch.setenv("ZOO_OFFLINE", "0")
    assert not settings.offline()
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    assert settings.cache_dir() == str(tmp_path / "cache")
    monkeypatch.setenv("ZOO_DATA_DIR", "~/data")
    assert settings.data_dir() == os.path.join(os.path.expanduser("~"), "data")
    monkeypatch.setenv("ZOO_HUB_URL", "  ")
    assert settings.hub_url() is None


def test_the_cache_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("ZOO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert settings.cache_dir() == os.path.join(str(tmp_path), "keras-gan-zoo")


def test_every_setting_is_listed_in_the_module_docstring():
    names = [value for key, value in vars(settings).items() if key.isupper() and key != "CACHE_FOLDER_NAME"]
    assert names and all(f"`{name}`" in settings.__doc__ for name in names)


# ------------------------------------------------------- lazy and deprecated


def test_lazy_exports_resolve_on_first_access_and_deprecated_names_warn_once():
    getattr_, dir_ = lazy.lazy_exports("zoo", {"ZooError": "zoo.errors"}, deprecated={"Error": ("zoo.errors", "ZooError")})
    assert getattr_("ZooError") is ZooError
    assert "ZooError" in dir_() and "Error" not in dir_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert getattr_("Error") is ZooError
        assert getattr_("Error") is ZooError
    assert [type(w.message) for w in caught] == [DeprecationWarning]
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getattr_("missing")


def test_renamed_public_names_keep_a_deprecated_alias():
    from zoo import hub
    from zoo.serving import resolve

    with pytest.warns(DeprecationWarning, match="HubSource"):
        assert hub.Source is hub.HubSource
    with pytest.warns(DeprecationWarning, match="pretrained_names"):
        assert resolve.list_pretrained() == resolve.pretrained_names()


# ------------------------------------------------------ keras registration


def test_keras_registration_waits_for_keras_and_registers_after_it():
    code = (
        "import sys, zoo\n"
        "from zoo.keras_registration import _RegisterWhenKerasLoads\n"
        "print('keras' in sys.modules, any(isinstance(f, _RegisterWhenKerasLoads) for f in sys.meta_path))\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('zoo>GAN') is not None, "
        "any(isinstance(f, _RegisterWhenKerasLoads) for f in sys.meta_path))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "True", "True", "False"]
