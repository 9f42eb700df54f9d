"""`RunConfig`: every setting of a training run, with its default, in one place.

`zoo train`'s flags, recipe files (`models/<name>/recipe.toml`, see
`zoo.recipes`), `zoo.training.train`'s keywords and the `run.json` a run writes
are all conversions of one `RunConfig`. `run.json` holds a `RunRecord`: the
config the run trained with, the facts its start found (data source, replicas,
class names) and, once it finished, a `RunResult`. `RunRecord.from_json` is the
one reader of `run.json`, and the only code that knows the key names of earlier
versions of it. This module imports nothing heavy; the TOML side of recipes is
`zoo.recipes`.

Example:

>>> config = zoo.run_config.RunConfig.from_recipe("models/dcgan-fashion-mnist/recipe.toml")
>>> config.replace(epochs=2, seed=3).epochs
2
>>> zoo.training.train_run(config.replace(epochs=2), out="runs/dcgan")
"""

import dataclasses
import json
import os
from typing import Any, Mapping, Optional, Tuple

from zoo.checks import check_int, check_number, check_seed, received
from zoo.errors import ZooError, unknown_name_error

MIXED_PRECISION = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
STRATEGIES = ("mirrored", "multiworker")
# The class names a `tf.distribute` strategy instance is recorded by in run.json.
_STRATEGY_CLASSES = {"MirroredStrategy": "mirrored", "MultiWorkerMirroredStrategy": "multiworker"}


def mixed_precision_policy(mixed_precision):
    """Keras dtype policy name for a `mixed_precision` setting, or `None`.

    Example:

    >>> mixed_precision_policy("bfloat16")
    'mixed_bfloat16'
    """
    if mixed_precision is None or mixed_precision is False:
        return None
    if mixed_precision is True:
        return MIXED_PRECISION["float16"]
    name = str(mixed_precision).removeprefix("mixed_")
    if name == "float32":  # what a command line says to override a recipe's mixed precision
        return None
    if name not in MIXED_PRECISION:
        raise ZooError(
            f"Unknown mixed_precision {mixed_precision!r}. Use 'float16', 'bfloat16' or "
            "'float32' (or false)."
        )
    return MIXED_PRECISION[name]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The settings of one training run (what `zoo train` and `zoo.training.train` take).

    Every value is checked when the config is made (`ZooError` with what was
    received); `replace` makes a changed copy, checked again.

    Attributes:
        variant: registered variant name, e.g. `"dcgan"`.
        dataset: a `zoo.data` name or a folder of images.
        epochs: number of epochs.
        batch_size: images per step (the global batch under a strategy).
        steps_per_epoch: stop each epoch after this many steps (the data is
            repeated), for short runs. `None`: a full pass.
        seed: seed of weights, noise and shuffling, for reproducible runs.
        take: use only the first `take` training images.
        max_minutes: stop training after this much wall-clock time.
        evaluate_every: score 5000 samples with `zoo.metrics` every this many
            epochs (and after the last).
        mixed_precision: `None` (float32), `"float16"` or `"bfloat16"`; `True`
            and `"mixed_float16"`-style policy names are read as those.
        strategy: `None`, `"mirrored"`, `"multiworker"` or a
            `tf.distribute.Strategy` instance.
        variant_config: extra builder options, e.g. `{"latent_dim": 128}`.
        compile_config: extra `GAN.compile` options, e.g. `{"jit_compile": True}`.
        sample_count: images in each epoch's sample grid.
        init_from: start from a pretrained GAN and fine-tune it: a catalogue
            name (its `gan.keras`, downloaded and sha256-checked by `zoo.hub`)
            or the path of a GAN `.keras` file (e.g. a run's `model.keras`).
            The GAN's architecture, weights and optimizer state are kept;
            `variant_config` must then be empty. Once the run folder holds a
            checkpoint, resuming starts from it instead. `None`: train from
            scratch.

    Example:

    >>> RunConfig("dcgan", epochs=0)
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: epochs must be a positive integer. Received: epochs=0.
    """

    variant: str
    dataset: str = "fashion_mnist"
    epochs: int = 20
    batch_size: int = 128
    steps_per_epoch: Optional[int] = None
    seed: Optional[int] = None
    take: Optional[int] = None
    max_minutes: Optional[float] = None
    evaluate_every: Optional[int] = None
    mixed_precision: Optional[str] = None
    strategy: Any = None
    variant_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    compile_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sample_count: int = 64
    init_from: Optional[str] = None

    def __post_init__(self):
        checked = {
            "variant": _check_variant(self.variant),
            "dataset": _check_dataset(self.dataset),
            "epochs": check_int("epochs", self.epochs, 1),
            "batch_size": check_int("batch_size", self.batch_size, 1),
            "steps_per_epoch": check_int("steps_per_epoch", self.steps_per_epoch, 1, optional=True),
            "seed": check_seed("seed", self.seed, optional=True),
            "take": check_int("take", self.take, 1, optional=True),
            "max_minutes": check_number("max_minutes", self.max_minutes, 0.0, optional=True),
            "evaluate_every": check_int("evaluate_every", self.evaluate_every, 1, optional=True),
            "mixed_precision": _short_precision(mixed_precision_policy(self.mixed_precision)),
            "strategy": _check_strategy(self.strategy),
            "variant_config": _check_table("variant_config", self.variant_config),
            "compile_config": _check_table("compile_config", self.compile_config),
            "sample_count": check_int("sample_count", self.sample_count, 1),
            "init_from": _check_init_from(self.init_from),
        }
        if isinstance(checked["variant_config"].get("image_shape"), list):
            checked["variant_config"]["image_shape"] = tuple(checked["variant_config"]["image_shape"])
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def default(cls, name):
        """The default of the setting `name`, e.g. `RunConfig.default("epochs")` is `20`."""
        field = {field.name: field for field in dataclasses.fields(cls)}[name]
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return None if field.default is dataclasses.MISSING else field.default

    @property
    def policy(self):
        """The Keras dtype policy of `mixed_precision` (`"mixed_bfloat16"`), or `None`."""
        return mixed_precision_policy(self.mixed_precision)

    def replace(self, **overrides):
        """A copy with `overrides` applied (and checked), e.g. `config.replace(seed=1)`."""
        return dataclasses.replace(self, **overrides)

    def train_kwargs(self):
        """The settings as keyword arguments of `zoo.training.train`."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    # -- recipes (TOML) -----------------------------------------------------

    @classmethod
    def from_recipe(cls, recipe, source=None):
        """Reads a recipe: a `recipe.toml` path or its parsed dict.

        Top-level keys are settings (and `name`, `description`, which describe
        a published model); the `[variant_config]` table holds builder options
        and `[compile]` the `GAN.compile` options, where optimizers are tables
        such as `{ class_name = "Adam", learning_rate = 2e-4 }`.

        Args:
            recipe: a path, or a dict as `tomllib` reads one.
            source: the name errors start with. Defaults to the path, or
                `"recipe"`.

        Returns:
            A `RunConfig`; optimizers are kept as Keras configs, so that every
            run builds its own.
        """
        from zoo.recipes import read_recipe_file, recipe_settings

        if not isinstance(recipe, Mapping):
            source = source or os.fspath(recipe)
            recipe = read_recipe_file(recipe)
        source = source or "recipe"
        settings = recipe_settings(recipe, source)
        try:
            return cls(**settings)
        except ZooError as error:
            raise ZooError(f"{source}: {error}") from None

    def to_recipe(self):
        """The recipe dict (`recipe.toml`'s tables) that `from_recipe` reads back as this config.

        Settings at `None` are left out (TOML has no null); optimizers become
        `{class_name = ..., ...}` tables.
        """
        from zoo.recipes import compile_table

        recipe = {}
        for field in dataclasses.fields(self):
            if field.name in ("variant_config", "compile_config"):
                continue
            value = _recipe_strategy(self.strategy) if field.name == "strategy" else getattr(self, field.name)
            if value is not None:
                recipe[field.name] = value
        if self.variant_config:
            recipe["variant_config"] = plain_values(self.variant_config)
        if self.compile_config:
            recipe["compile"] = compile_table(self.compile_config)
        return recipe

    # -- run.json -----------------------------------------------------------

    def to_json(self):
        """The settings as JSON text, as `run.json` holds them (policy names, lists)."""
        return _dumps(self._json_fields())

    @classmethod
    def from_json(cls, text, source="run.json"):
        """Reads `to_json` text, or the settings of any `run.json` a version of the zoo wrote."""
        return cls._from_json_fields(_loads(text, source), source)

    def _json_fields(self):
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        fields.update(mixed_precision=self.policy, strategy=_strategy_name(self.strategy))
        fields.update(variant_config=plain_values(self.variant_config), compile_config=dict(self.compile_config))
        return fields

    @classmethod
    def _from_json_fields(cls, data, source):
        if not isinstance(data, Mapping) or not data.get("variant") or not data.get("dataset"):
            raise ZooError(f"{source}: has no variant/dataset; not a run.json written by `zoo train`.")
        names = {field.name for field in dataclasses.fields(cls)}
        settings = {key: value for key, value in data.items() if key in names}
        strategy = settings.get("strategy")
        if isinstance(strategy, str) and strategy not in STRATEGIES:
            # An instance is recorded by its class name; one the zoo cannot name again reads as the default.
            settings["strategy"] = _STRATEGY_CLASSES.get(strategy)
        # mixed_precision was a bool before it held policy names: `RunConfig` reads True as float16.
        try:
            return cls(**settings)
        except ZooError as error:
            raise ZooError(f"{source}: {error}") from None


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a finished run reports (`run.json`'s `result`).

    Attributes:
        seconds: training seconds of all sessions of the run.
        seconds_this_session: training seconds of the last session.
        generator_steps: generator updates in all.
        images_seen: `generator_steps * batch_size`.
        diverged: whether `zoo.callbacks.TerminateOnNaN` stopped the run.
        machine: `zoo.training.machine_description()` of the last session.
    """

    seconds: float
    seconds_this_session: float
    generator_steps: int
    images_seen: int
    diverged: bool = False
    machine: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def _from_json_fields(cls, data, batch_size):
        # Earlier names: `steps` (generator_steps) and `seconds_total` (seconds); the first
        # results had no total, only `seconds_this_session`, and some no `images_seen`.
        steps = _first(data, "generator_steps", "steps")
        this_session = _first(data, "seconds_this_session")
        return cls(
            seconds=_first(data, "seconds", "seconds_total", "seconds_this_session"),
            seconds_this_session=this_session,
            generator_steps=steps,
            images_seen=_first(data, "images_seen") or (steps or 0) * batch_size,
            diverged=bool(data.get("diverged", False)),
            machine=dict(data.get("machine") or {}),
        )


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What `run.json` holds: the config a run trained with, the facts of its start, its result.

    Attributes:
        config: the `RunConfig`, its `variant_config` completed with what the
            run decided (`image_shape`, `num_classes`, `seed`, clusters).
        data_source: where the training data came from (`zoo.data.info`).
        replicas: replicas of the distribution strategy.
        class_names: the data set's class names, or `None`.
        clustering_seconds: time spent finding clusters (self-conditioning).
        init_from_sha256: the sha256 of the GAN file `config.init_from`
            named, as the run started from it; `None` without `init_from`.
        result: the `RunResult`; `None` while the run is unfinished.

    Example:

    >>> record = zoo.run_config.read_run_record("runs/dcgan/run.json")
    >>> record.config.variant, record.result.generator_steps
    ('dcgan', 9380)
    """

    config: RunConfig
    data_source: Optional[str] = None
    replicas: Optional[int] = None
    class_names: Optional[Tuple[str, ...]] = None
    clustering_seconds: Optional[float] = None
    init_from_sha256: Optional[str] = None
    result: Optional[RunResult] = None

    def finished(self, result):
        """This record with its `RunResult`."""
        return dataclasses.replace(self, result=result)

    def to_json(self):
        """`run.json`'s text."""
        fields = self.config._json_fields()
        fields.update(
            data_source=self.data_source,
            replicas=self.replicas,
            class_names=None if self.class_names is None else list(self.class_names),
            clustering_seconds=self.clustering_seconds,
        )
        if self.config.init_from is not None:
            fields["init_from_sha256"] = self.init_from_sha256
        if self.result is not None:
            fields["result"] = dataclasses.asdict(self.result)
        return _dumps(fields)

    @classmethod
    def from_json(cls, text, source="run.json"):
        """Reads the `run.json` text of any version of `zoo train`."""
        data = _loads(text, source)
        config = RunConfig._from_json_fields(data, source)
        result = data.get("result")
        if result is not None and not isinstance(result, Mapping):
            raise ZooError(f"{source}: its 'result' is not a table; not a run.json written by `zoo train`.")
        class_names = data.get("class_names")
        return cls(
            config=config,
            data_source=data.get("data_source"),
            replicas=data.get("replicas"),
            class_names=None if class_names is None else tuple(class_names),
            clustering_seconds=data.get("clustering_seconds"),
            init_from_sha256=data.get("init_from_sha256"),
            result=None if result is None else RunResult._from_json_fields(result, config.batch_size),
        )


def read_run_record(path):
    """Reads the `RunRecord` of a `run.json` file; a one-line `ZooError` if it is not one."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"{path} is not a readable run record ({_one_line(error)}).") from None
    return RunRecord.from_json(text, source=path)


# ------------------------------------------------------------------ checks


def _check_variant(variant):
    if not isinstance(variant, str) or not variant:
        raise ZooError(f"variant must be a variant name (see `zoo list`). Received: {received('variant', variant)}.")
    return variant


def _check_dataset(dataset):
    if isinstance(dataset, os.PathLike):
        dataset = os.fspath(dataset)
    if not isinstance(dataset, str) or not dataset:
        raise ZooError(
            f"dataset must be a data set name or an image folder. Received: {received('dataset', dataset)}."
        )
    return dataset


def _check_init_from(init_from):
    if init_from is None:
        return None
    if isinstance(init_from, os.PathLike):
        init_from = os.fspath(init_from)
    if not isinstance(init_from, str) or not init_from:
        raise ZooError(
            "init_from must be a pretrained name or the path of a GAN .keras file. "
            f"Received: {received('init_from', init_from)}."
        )
    return init_from


def _check_strategy(strategy):
    if isinstance(strategy, str) and strategy not in STRATEGIES:
        raise unknown_name_error("strategy", strategy, STRATEGIES)
    return strategy


def _check_table(name, value):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ZooError(f"{name} must be a table of options (a dict). Received: {received(name, value)}.")
    return dict(value)


def _short_precision(policy):
    return None if policy is None else policy.removeprefix("mixed_")


def _strategy_name(strategy):
    return strategy if strategy is None or isinstance(strategy, str) else type(strategy).__name__


def _recipe_strategy(strategy):
    name = _strategy_name(strategy)
    name = _STRATEGY_CLASSES.get(name, name)
    if name is not None and name not in STRATEGIES:
        raise ZooError(
            f"A recipe names its strategy, and {name} has no name. Received: {received('strategy', strategy)}. "
            f"Use one of {', '.join(STRATEGIES)}."
        )
    return name


# ------------------------------------------------------------------ JSON


def plain_values(value):
    """`value` with tuples as lists, as JSON and TOML hold them.

    Example:

    >>> plain_values({"image_shape": (28, 28, 1)})
    {'image_shape': [28, 28, 1]}
    """
    if isinstance(value, Mapping):
        return {key: plain_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_values(item) for item in value]
    return value


def _dumps(fields):
    return json.dumps(fields, indent=2, default=_serialize_object)


def _serialize_object(value):
    """A Keras object in `compile_config` (an optimizer, a loss) as its Keras config."""
    import keras

    return keras.saving.serialize_keras_object(value)


def _loads(text, source):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ZooError(f"{source} is not a readable run record ({_one_line(error)}).") from None


def _first(data, *keys):
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def _one_line(error):
    return " ".join(str(error).split())
