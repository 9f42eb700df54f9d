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

Example:

>>> settings = zoo.recipes.load_recipe("models/dcgan-fashion-mnist/recipe.toml")
>>> gan, history = zoo.training.train(**settings)
"""

import os

from zoo.errors import ZooError

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TRAIN_KEYS = (
    "variant",
    "dataset",
    "epochs",
    "batch_size",
    "steps_per_epoch",
    "seed",
    "take",
    "max_minutes",
    "evaluate_every",
    "mixed_precision",
    "variant_config",
    "compile_config",
)
INFO_KEYS = ("name", "description")


def load_recipe(path):
    """Reads a recipe file and returns keyword arguments for `zoo.training.train`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ZooError(f"No such recipe file: {path}. Pass the path of a recipe.toml.")
    try:
        with open(path, "rb") as file:
            recipe = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ZooError(f"{path} is not valid TOML ({error}).") from None
    return recipe_to_train_kwargs(recipe, source=path)


def recipe_to_train_kwargs(recipe, source="recipe"):
    """Validates a recipe dict and turns it into `train` keyword arguments."""
    recipe = dict(recipe)
    if "compile" in recipe:
        recipe["compile_config"] = recipe.pop("compile")
    unknown = sorted(set(recipe) - set(TRAIN_KEYS) - set(INFO_KEYS))
    if unknown:
        raise ZooError(
            f"{source}: unknown key {unknown[0]!r}. Allowed: {', '.join(TRAIN_KEYS + INFO_KEYS)}."
        )
    if "variant" not in recipe:
        raise ZooError(f"{source}: a recipe needs a 'variant' key.")
    compile_config = dict(recipe.get("compile_config", {}))
    for key in ("g_optimizer", "d_optimizer"):
        if isinstance(compile_config.get(key), dict):
            # Validated now, kept as a config: every `train(**kwargs)` builds its own
            # optimizer (one instance cannot serve two models).
            import keras

            compile_config[key] = keras.optimizers.serialize(optimizer_from_table(compile_config[key], source))
    recipe["compile_config"] = compile_config
    if "mixed_precision" in recipe:
        from zoo.training import mixed_precision_policy

        try:
            mixed_precision_policy(recipe["mixed_precision"])
        except ZooError as error:
            raise ZooError(f"{source}: {error}") from None
    if "image_shape" in recipe.get("variant_config", {}):
        recipe["variant_config"]["image_shape"] = tuple(recipe["variant_config"]["image_shape"])
    return {key: recipe[key] for key in TRAIN_KEYS if key in recipe}


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
