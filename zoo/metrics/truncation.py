"""Quality against the truncation `psi`: the precision/recall trade-off a model card plots.

Scaling the latents by `psi` < 1 (the truncation trick, `generate(...,
truncation=psi)`) trades variety for typical images: precision usually rises
and recall falls as `psi` shrinks. `truncation_sweep` scores one generator at
several `psi` with `zoo.metrics.evaluate`'s protocol (same latent seed, so the
rows differ only by `psi`).

Example:

>>> sweep = truncation_sweep("export/dcgan-fashion-mnist", psis=(0.5, 1.0), n=5000)
>>> [(row["psi"], row["precision"], row["recall"]) for row in sweep["rows"]]
"""

DEFAULT_PSIS = (0.5, 0.7, 0.85, 1.0)
SWEEP_METRICS = ("fd", "precision", "recall", "density", "coverage", "conditional_accuracy")


def truncation_sweep(model, dataset="fashion_mnist", psis=DEFAULT_PSIS, n=5000, seed=0, data_dir=None):
    """Scores `model` at every truncation in `psis`; returns a JSON-ready dict.

    Args:
        model: what `zoo.metrics.evaluate` takes (a path, a GAN, a source).
        dataset: the data set whose test split is the reference.
        psis: the truncations, each in (0, 1]; `1` is the untruncated generator.
        n: samples per point. Defaults to `5000`.
        seed: latent seed of the samples. Defaults to `0`.
        data_dir: folder with local data files (see `zoo.data`).

    Returns:
        `{"dataset", "n", "seed", "rows": [{"psi", "fd", "precision", ...}],
        "command"}`; `command` reproduces one row (replace `PSI`).
    """
    from zoo import data
    from zoo.errors import ZooError
    from zoo.latent import check_truncation
    from zoo.metrics.evaluation import evaluate
    from zoo.metrics.sources import GeneratorSource, open_source

    checked = sorted({check_truncation(psi, "psis") for psi in psis})
    if not checked:
        raise ZooError("psis is empty. Pass at least one truncation in (0, 1], e.g. psis=(0.7, 1.0).")
    source = open_source(model, num_classes=data.info(dataset, data_dir=data_dir).num_classes)
    if not isinstance(source, GeneratorSource):
        raise ZooError(f"A truncation sweep needs a generator; {source.name} is not one.")
    rows = []
    for psi in checked:
        result = evaluate(source, dataset, n=n, seed=seed, data_dir=data_dir, truncation=psi)
        row = {"psi": psi}
        row.update({key: _rounded(result.metrics.get(key)) for key in SWEEP_METRICS if result.metrics.get(key) is not None})
        rows.append(row)
    where = model if isinstance(model, str) else "MODEL"
    return {
        "dataset": dataset,
        "n": n,
        "seed": seed,
        "rows": rows,
        "command": f"zoo evaluate {where} --dataset {dataset} --n {n} --seed {seed} --truncation PSI --json",
    }


def _rounded(value):
    return round(float(value), 4)
