"""`tf.distribute`: the same train_step on 2 CPU replicas equals 1 replica."""

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import os, json
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np, zoo
    from zoo.variants import mlp_gan

    class PixelNoiseGAN(zoo.GAN):
        # Noise made from each image's own pixels, so that splitting the batch
        # across replicas does not change any example's z.
        def _sample_z(self, real_images):
            flat = tf.reshape(real_images, (tf.shape(real_images)[0], -1))
            return flat[:, 200 : 200 + self.latent_dim] * 2.0

    keras.utils.set_random_seed(0)
    generator = mlp_gan.build_generator(8, (28, 28, 1), hidden_units=(32,))
    discriminator = mlp_gan.build_discriminator((28, 28, 1), hidden_units=(32,), dropout=0.0)
    start = generator.get_weights(), discriminator.get_weights()
    images, labels = zoo.data.load_arrays("fashion_mnist", "train")
    batch = (images[:8].astype("float32") / 127.5 - 1.0)
    data = tf.data.Dataset.from_tensor_slices(batch).batch(8)

    def one_step(strategy):
        with strategy.scope():
            g = keras.models.clone_model(generator); g.set_weights(start[0])
            d = keras.models.clone_model(discriminator); d.set_weights(start[1])
            gan = PixelNoiseGAN(g, d, latent_dim=8, d_steps=2)
            gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
        logs = gan.fit(data, epochs=1, verbose=0).history
        return g.get_weights() + d.get_weights(), logs, strategy.num_replicas_in_sync

    single, single_logs, n1 = one_step(tf.distribute.get_strategy())
    mirrored, mirrored_logs, n2 = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(single, start[0] + start[1]))
    differences = [float(np.abs(a - b).max()) for a, b in zip(single, mirrored)]
    print(json.dumps({"replicas": [n1, n2], "moved": moved, "max_difference": max(differences),
                      "d_loss": [single_logs["d_loss"][0], mirrored_logs["d_loss"][0]]}))
    """
)


def test_two_replicas_match_one_replica_with_the_same_global_batch():
    import json

    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == [1, 2]
    assert report["moved"] > 1e-3, "the step must change the weights"
    assert report["max_difference"] < 1e-5, report
    assert abs(report["d_loss"][0] - report["d_loss"][1]) < 1e-5, report


def test_zoo_train_runs_under_mirrored_strategy_with_mixed_precision(tmp_path):
    from zoo.cli import main

    status = main([
        "train", "dcgan", "--strategy", "mirrored", "--mixed-precision", "--epochs", "1",
        "--steps-per-epoch", "2", "--batch-size", "16", "--take", "256", "--seed", "0",
        "--out", str(tmp_path), "--verbose", "0",
    ])
    assert status == 0
    import json

    settings = json.loads((tmp_path / "run.json").read_text())
    assert settings["strategy"] == "mirrored" and settings["mixed_precision"] == "mixed_float16"
    assert settings["result"]["generator_steps"] == 2


REPLICA_NOISE = textwrap.dedent(
    """
    import os, json
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np, zoo
    from zoo.variants import mlp_gan

    def build(seed):
        g = mlp_gan.build_generator(8, (28, 28, 1), hidden_units=(16,))
        d = mlp_gan.build_discriminator((28, 28, 1), hidden_units=(16,), dropout=0.0)
        return zoo.GAN(g, d, latent_dim=8, seed=seed)

    images = tf.zeros((4, 28, 28, 1))
    alone = build(5)._sample_z(images).numpy()
    expected = keras.random.normal((4, 8), seed=keras.random.SeedGenerator(5)).numpy()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = build(5)
    per_replica = strategy.run(tf.function(gan._sample_z), args=(images,))
    values = [v.numpy() for v in strategy.experimental_local_results(per_replica)]
    print(json.dumps({"alone_as_keras": bool((alone == expected).all()),
                      "replicas_differ": bool(np.abs(values[0] - values[1]).max() > 0.1),
                      "std": [float(v.std()) for v in values]}))
    """
)


def test_each_replica_draws_its_own_training_noise():
    """Replicas seeded alike must not give every share of the global batch the same z."""
    import json

    result = subprocess.run([sys.executable, "-c", REPLICA_NOISE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["alone_as_keras"], "one replica must draw what keras.random.normal draws, as before"
    assert report["replicas_differ"], report
    assert all(0.5 < std < 1.5 for std in report["std"]), report
