"""What a publication is made from: the run, its recipe and an optional evaluation, checked.

Example:

>>> run = read_run("runs/dcgan-fashion-mnist")
>>> path, recipe = read_recipe(None, "models/dcgan-fashion-mnist", "dcgan-fashion-mnist", run)
"""

import json
import os

from zoo.errors import ZooError
from zoo.recipes import read_recipe_file
from zoo.run_config import RunConfig, read_run_record


def read_run(run_dir):
    """The `zoo.run_config.RunRecord` of a finished, not diverged `zoo train` run; `ZooError` if not one."""
    run_dir = os.fspath(run_dir)
    path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(os.path.join(run_dir, "model.keras")) or not os.path.isfile(path):
        raise ZooError(f"{run_dir} is not a finished run folder (needs model.keras and run.json written by `zoo train`).")
    run = read_run_record(path)
    if run.result is None:
        raise ZooError(f"{path}: has no 'result'; the run did not finish. Finish it (re-run `zoo train`) first.")
    if run.result.diverged:
        raise ZooError(f"{path}: the run diverged (NaN losses); it cannot be published.")
    return run


def read_recipe(recipe, model_dir, name, run):
    """Returns `(path, dict)` of the recipe, checked against the run (a `RunRecord`) and the name."""
    path = os.path.abspath(os.fspath(recipe)) if recipe is not None else os.path.join(model_dir, "recipe.toml")
    if not os.path.isfile(path):
        raise ZooError(f"No such recipe file: {path}. Write models/{name}/recipe.toml (see zoo/recipes.py) or pass --recipe.")
    data = read_recipe_file(path)
    config = RunConfig.from_recipe(data, source=path)
    if data.get("name", name) != name:
        raise ZooError(f"{path} is the recipe of '{data['name']}', not '{name}'. Received: name={name!r}.")
    for key in ("variant", "dataset"):
        if getattr(config, key) != getattr(run.config, key):
            raise ZooError(
                f"{path} says {key} = {getattr(config, key)!r} but the run trained {key} = "
                f"{getattr(run.config, key)!r}; publish the run with the recipe that trained it."
            )
    return path, data


def read_evaluation(path, dataset):
    """Reads a `zoo evaluate --json` file and checks it scored `dataset`."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"Cannot read the evaluation {path} ({error}). Pass a file written by `zoo evaluate --json`.") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) or not isinstance(data.get("protocol"), dict):
        raise ZooError(f"{path}: has no 'metrics' and 'protocol'; not the output of `zoo evaluate --json`.")
    if data["protocol"].get("dataset") != dataset:
        raise ZooError(
            f"{path} scored data set {data['protocol'].get('dataset')!r} but the model was trained on {dataset!r}."
        )
    return data
