"""Training recipes: a TOML file holding everything `zoo train` needs.

A recipe reproduces a published generator (`models/<name>/recipe.toml`):

    name = "dcgan-fashion-mnist"
    variant = "dcgan"
    dataset = "fashion_mnist"
    epochs = 12
    batch_size = 64
    seed = 0
    max_minutes = 60

    [variant_config]
    latent_dim = 64
    ema_decay = 0.995

    [compile]
    loss = "non_saturating"
    g_optimizer = { class_name = "Adam", learning_rate = 2e-4, beta_1 = 0.5 }
    d_optimizer = { class_name = "Adam", learning_rate = 2e-4, beta_1 = 0.5 }

The recipe's keys are the fields of `zoo.run_config.RunConfig` (`[compile]` is its
`compile_config`) plus `name` and `description`. `RunConfig.from_recipe` and
`RunConfig.to_recipe` convert; this module holds the TOML side.

Example:

>>> settings = zoo.recipes.load_recipe("models/dcgan-fashion-mnist/recipe.toml")
>>> gan, history = zoo.training.train(**settings)
"""

import dataclasses
import os
from collections.abc import Mapping

from zoo.errors import ZooError
from zoo.run_config import RunConfig, plain_values

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TRAIN_KEYS = tuple(field.name for field in dataclasses.fields(RunConfig))
"""The settings a recipe may hold: the fields of `zoo.run_config.RunConfig`."""
INFO_KEYS = ("name", "description")
"""Recipe keys that describe the published model rather than the run."""
OPTIMIZER_KEYS = ("g_optimizer", "d_optimizer")


def load_recipe(path):
    """Reads a recipe file and returns keyword arguments for `zoo.training.train`.

    The keywords are the settings the recipe names (and `compile_config`),
    checked by `zoo.run_config.RunConfig.from_recipe`; use that for the whole
    config with its defaults.
    """
    path = os.fspath(path)
    return recipe_to_train_kwargs(read_recipe_file(path), source=path)


def recipe_to_train_kwargs(recipe, source="recipe"):
    """Validates a recipe dict and turns it into `train` keyword arguments (those it names)."""
    config = RunConfig.from_recipe(recipe, source=source)
    named = {"compile_config" if key == "compile" else key for key in recipe} | {"compile_config"}
    return {key: value for key, value in config.train_kwargs().items() if key in named}


def read_recipe_file(path):
    """Parses a `recipe.toml` into a dict; a one-line `ZooError` if it is missing or not TOML."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ZooError(f"No such recipe file: {path}. Pass the path of a recipe.toml.")
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ZooError(f"{path} is not valid TOML ({error}).") from None


def recipe_settings(recipe, source="recipe"):
    """The `RunConfig` keywords a recipe dict gives (only those it names); `ZooError` on a bad key.

    `[compile]` becomes `compile_config`, and its optimizer tables Keras
    optimizer configs (checked by building each once).
    """
    settings = {key: value for key, value in recipe.items() if key not in INFO_KEYS}
    if "compile" in settings:
        settings["compile_config"] = settings.pop("compile")
    unknown = sorted(set(settings) - set(TRAIN_KEYS))
    if unknown:
        raise ZooError(f"{source}: unknown key {unknown[0]!r}. Allowed: {', '.join(TRAIN_KEYS + INFO_KEYS)}.")
    if "variant" not in settings:
        raise ZooError(f"{source}: a recipe needs a 'variant' key.")
    if isinstance(settings.get("compile_config"), Mapping):
        compile_config = dict(settings["compile_config"])
        for key in OPTIMIZER_KEYS:
            if isinstance(compile_config.get(key), Mapping):
                import keras

                compile_config[key] = keras.optimizers.serialize(optimizer_from_table(compile_config[key], source))
        settings["compile_config"] = compile_config
    return settings


def optimizer_from_table(table, source="recipe"):
    """`{class_name = "Adam", learning_rate = 2e-4}` -> a Keras optimizer."""
    import keras

    table = dict(table)
    class_name = table.pop("class_name", None)
    if class_name is None:
        raise ZooError(f"{source}: an optimizer table needs class_name, e.g. class_name = \"Adam\".")
    try:
        return keras.optimizers.deserialize({"class_name": class_name, "config": table})
    except (ValueError, TypeError) as error:
        raise ZooError(f"{source}: bad optimizer {class_name!r} ({str(error).splitlines()[0]}).") from None


def compile_table(compile_config):
    """A `compile_config` as a recipe's `[compile]` table: optimizers as `{class_name = ...}` tables."""
    return {key: _compile_value(key, value) for key, value in compile_config.items()}


def _compile_value(key, value):
    if key not in OPTIMIZER_KEYS or isinstance(value, str):
        return plain_values(value)
    if not isinstance(value, Mapping):  # an optimizer instance
        import keras

        value = keras.optimizers.serialize(value)
    config = {name: item for name, item in value.get("config", {}).items() if item is not None}
    return {"class_name": value["class_name"], **plain_values(config)}

