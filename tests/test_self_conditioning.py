"""Self-conditioned DCGAN: k-means clusters, the latent cluster draw, training and export."""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo import data
from zoo.clusters import cluster_images
from zoo.errors import ZooError
from zoo.layers import LatentCluster


def test_latent_cluster_draws_each_cluster_with_its_frequency():
    layer = LatentCluster([2.0, 3.0, 5.0])
    z = np.random.default_rng(0).standard_normal((200_000, 4)).astype("float32")
    ids = keras.ops.convert_to_numpy(layer(z))
    assert ids.dtype == np.int32 and ids.min() == 0 and ids.max() == 2
    np.testing.assert_allclose(np.bincount(ids) / len(ids), [0.2, 0.3, 0.5], atol=0.005)
    # Only z[:, 0] decides: the draw is monotone in it.
    order = np.argsort(z[:, 0])
    assert (np.diff(ids[order]) >= 0).all()
    clone = LatentCluster.from_config(layer.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone(z[:100])), ids[:100])
    with pytest.raises(ValueError, match="at least 2 positive frequencies"):
        LatentCluster([1.0])


def test_kmeans_clusters_of_real_fashion_mnist_follow_the_classes():
    images, labels = data.load_arrays("fashion_mnist", "test")
    clustering = cluster_images(images[:3000], k=10, seed=0)
    assert clustering.assignments.shape == (3000,) and clustering.assignments.dtype == np.int32
    assert sum(clustering.frequencies) == pytest.approx(1.0)
    # Pixel k-means recovers much of the class structure (chance: ~0.1-0.2).
    assert clustering.purity(labels[:3000]) > 0.45
    again = cluster_images(images[:3000], k=10, seed=0)
    np.testing.assert_array_equal(again.assignments, clustering.assignments)
    with pytest.raises(ZooError, match="clusters must be an integer from 2"):
        cluster_images(images[:10], k=1)


def test_dcgan_cluster_options_are_checked():
    with pytest.raises(ZooError, match="clusters must be an integer >= 2"):
        zoo.create("dcgan", clusters=1)
    with pytest.raises(ZooError, match="cluster_frequencies needs clusters"):
        zoo.create("dcgan", cluster_frequencies=[0.5, 0.5])
    with pytest.raises(ZooError, match="must be 3 positive numbers"):
        zoo.create("dcgan", clusters=3, cluster_frequencies=[0.5, 0.5])
    with pytest.raises(ZooError, match="minibatch_std is not available with clusters"):
        zoo.create("dcgan", clusters=3, minibatch_std=True)


def test_self_conditioned_gan_needs_cluster_ids_in_its_batches():
    gan = zoo.create("dcgan", clusters=3, seed=0)
    gan.compile()
    images = np.zeros((8, 28, 28, 1), "float32")
    with pytest.raises(ZooError, match=r"needs \(images, cluster ids\) batches"):
        gan.fit(images, batch_size=8, epochs=1, verbose=0)


def test_data_load_replaces_labels_and_checks_them():
    ids = np.arange(10_000) % 7
    images, labels = next(iter(data.load("fashion_mnist", "test", batch_size=16, shuffle=False, labels=ids, with_labels=False)))
    np.testing.assert_array_equal(labels.numpy(), ids[:16])
    with pytest.raises(ZooError, match="labels must be 10000 integers"):
        data.load("fashion_mnist", "test", labels=ids[:5])


def test_self_conditioned_dcgan_trains_reloads_and_exports(tmp_path):
    from zoo.export import export_generator
    from zoo.training import train

    gan, history = train(
        "dcgan", out=str(tmp_path / "run"), epochs=1, batch_size=32, steps_per_epoch=3, take=512,
        seed=0, verbose=0, sample_count=4, variant_config={"clusters": 6, "ema_decay": 0.9},
    )
    assert gan.self_conditioned and not gan.conditional and len(gan.latent_clusters) == 6
    assert np.isfinite(history.history["d_loss"]).all()
    assert len(gan.generator.inputs) == 1 and len(gan.discriminator.inputs) == 2
    settings = json.loads((tmp_path / "run" / "run.json").read_text())
    assert settings["variant_config"]["clusters"] == 6 and settings["clustering_seconds"] >= 0
    assert len(settings["variant_config"]["cluster_frequencies"]) == 6
    loaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert loaded.latent_clusters == pytest.approx(gan.latent_clusters)
    np.testing.assert_array_equal(loaded.generate(5, seed=1), gan.generate(5, seed=1))
    report = export_generator(gan, tmp_path / "export", batch_sizes=(1, 7))
    assert report.passed
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert [port["name"] for port in manifest["io"]["inputs"]] == ["z"]
