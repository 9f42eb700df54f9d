"""`zoo.GAN`: the one `keras.Model` every variant trains with.

A variant supplies a generator and a discriminator (plus its defaults); the base
class owns the adversarial training step, the metrics, sampling and saving. Variants
that train differently override a hook (`discriminator_penalty`) or pick another
loss, instead of rewriting `train_step`.
"""

import keras
import tensorflow as tf

from zoo import losses as losses_module
from zoo import regularizers
from zoo.checks import check_int, check_latent_dim, check_num_classes
from zoo.errors import ZooError
from zoo.layers import LatentCluster
from zoo.optimizers import default_optimizer, get_optimizer, loss_scaled
from zoo.record import GeneratorRecord

# Kept importable from here: variants built on `zoo.GAN` import them with it.
__all__ = ["GAN", "check_latent_dim", "check_num_classes", "default_optimizer"]


def step_logs(metrics):
    """What a `train_step` under any `tf.distribute` strategy returns: `{name: result}`.

    The metrics' variables are already aggregated over replicas, so every
    replica holds the same results. Under `MultiWorkerMirroredStrategy` with
    several workers Keras 3 reduces a step's outputs with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on a scalar
    ("Invalid reduction dimension 0 for input with 0 dimensions"); there each
    result is given as shape `[1]`, which that reduction turns back into the
    scalar (the mean of equal values). Elsewhere results stay scalars.

    Example:

    >>> step_logs([keras.metrics.Mean(name="d_loss")])
    {'d_loss': <tf.Tensor: shape=(), dtype=float32, numpy=0.0>}
    """
    logs = {metric.name: metric.result() for metric in metrics}
    if in_multi_worker_mode(tf.distribute.get_strategy()):
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def in_multi_worker_mode(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` of a cluster of several workers (`TF_CONFIG`)."""
    in_mode = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(in_mode and in_mode())


@keras.saving.register_keras_serializable(package="zoo")
class GAN(keras.Model):
    """A generative adversarial network trained with `fit`.

    Args:
        generator: a `keras.Model` mapping `z` `[batch, latent_dim]` (and, for a
            conditional model, `label` `[batch]` int) to images in [-1, 1].
        discriminator: a `keras.Model` mapping images (and labels) to one logit
            per image.
        latent_dim: size of the latent vector `z`.
        num_classes: number of classes of a conditional model; `None` for an
            unconditional one. Defaults to `None`.
        d_steps: discriminator updates per generator update. Defaults to `1`.
        variant: name of the registered variant that built this model, recorded
            for export and model cards. Defaults to `None`.
        compile_defaults: what `compile()` uses for arguments left out: a dict
            with `loss` (name or config), `g_optimizer` and `d_optimizer`
            (serialized optimizers). Defaults to non-saturating loss and
            Adam(2e-4, beta_1=0.5) for both.
        seed: seed of the training noise. Defaults to `None`.
        ema_decay: if set (e.g. `0.999`), keep an exponential moving average
            of the generator's weights (Yazici et al. 2019) in
            `ema_generator`; sampling, `call` and export then use it. The
            decay is warmed up as `min(ema_decay, (1 + t) / (10 + t))`.
            Defaults to `None`.
        d_penalties: penalties added to D's loss, e.g.
            `[zoo.regularizers.GradientPenalty(10.0)]` or `["r1"]`. Defaults
            to none.
        augment: a layer applied to every image D sees while training, real
            and fake alike, e.g. `zoo.augment.DiffAugment()`. Defaults to
            `None`.
        latent_clusters: for a self-conditioned model (`zoo.clusters`), the
            clusters' shares of the training data. The generator takes `z`
            only and draws its cluster from `z[:, 0]`
            (`zoo.layers.LatentCluster`); the discriminator takes
            `[images, cluster ids]`, and training batches are
            `(images, cluster ids)`. Defaults to `None`.

    Example:

    >>> gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=64)
    >>> gan.compile()
    >>> gan.fit(zoo.data.load("fashion_mnist", batch_size=128), epochs=1)
    >>> images = gan.generate(16, seed=0)   # float32 [16, 28, 28, 1] in [-1, 1]
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        num_classes=None,
        d_steps=1,
        variant=None,
        compile_defaults=None,
        seed=None,
        ema_decay=None,
        d_penalties=None,
        augment=None,
        latent_clusters=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = check_latent_dim(latent_dim)
        self.num_classes = check_num_classes(num_classes)
        self.d_steps = check_int("d_steps", d_steps, 1)
        self.variant = variant
        self.compile_defaults = dict(
            loss="non_saturating",
            g_optimizer=default_optimizer(),
            d_optimizer=default_optimizer(),
        )
        self.compile_defaults.update(compile_defaults or {})
        self.seed = seed
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ZooError(f"ema_decay must be in (0, 1). Received: ema_decay={ema_decay!r}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.d_penalties = [regularizers.get(penalty) for penalty in (d_penalties or [])]
        self.augment = augment
        if latent_clusters is not None and self.num_classes is not None:
            raise ZooError("A GAN is either conditional (num_classes) or self-conditioned (latent_clusters), not both.")
        self.latent_clusters = None
        self.cluster_of = None
        if latent_clusters is not None:
            self.cluster_of = LatentCluster(latent_clusters, name="cluster_of")
            self.latent_clusters = self.cluster_of.frequencies
        self.generator = generator
        self.ema_generator = None
        if self.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.name = "ema_generator"
            self.ema_generator.set_weights(generator.get_weights())
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_accuracy_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.fake_accuracy_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        self.g_optimizer = None
        self.d_optimizer = None
        self.loss_fn = None
        self.built = True

    # ------------------------------------------------------------------ compile

    def compile(self, g_optimizer=None, d_optimizer=None, loss=None, **kwargs):
        """Configures training; arguments left out take the variant's defaults.

        Args:
            g_optimizer: the generator's optimizer (instance, name or config).
            d_optimizer: the discriminator's optimizer.
            loss: a `zoo.losses` name (`"non_saturating"`, `"minimax"`,
                `"hinge"`, `"wasserstein"`, `"least_squares"`, `"relativistic_pairing"`) or
                instance.
            **kwargs: passed to `keras.Model.compile`, e.g. `jit_compile`,
                `steps_per_execution`, `run_eagerly`.

        Example:

        >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), loss="minimax")
        """
        for name in ("optimizer", "metrics"):
            if kwargs.get(name) is not None:
                raise ZooError(
                    f"GAN.compile takes g_optimizer/d_optimizer, not {name}. "
                    f"Received: {name}={kwargs[name]!r}."
                )
            kwargs.pop(name, None)
        super().compile(optimizer=None, loss=None, **kwargs)
        defaults = self.compile_defaults
        self.g_optimizer = get_optimizer(defaults["g_optimizer"] if g_optimizer is None else g_optimizer)
        self.d_optimizer = get_optimizer(defaults["d_optimizer"] if d_optimizer is None else d_optimizer)
        if self.generator.dtype_policy.compute_dtype == "float16":
            # Only `self.optimizer` is wrapped by Keras; wrap both ourselves.
            self.g_optimizer = loss_scaled(self.g_optimizer)
            self.d_optimizer = loss_scaled(self.d_optimizer)
        if self.g_optimizer is self.d_optimizer:
            raise ZooError(
                "g_optimizer and d_optimizer must be two different optimizer "
                "instances (each keeps its own state)."
            )
        self.loss_fn = losses_module.get(defaults["loss"] if loss is None else loss)
        # Build the optimizers now, so that saved optimizer state (a `.keras`
        # file, `BackupAndRestore`) has variables to load into.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        if self.g_optimizer is None:
            return None
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "loss": keras.saving.serialize_keras_object(self.loss_fn),
            "steps_per_execution": self.steps_per_execution,
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        config["loss"] = losses_module.get(config["loss"])
        self.compile(**config)

    # ------------------------------------------------------------------ metrics

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.real_accuracy_tracker,
            self.fake_accuracy_tracker,
        ]

    # ---------------------------------------------------------------- inference

    @property
    def conditional(self):
        """Whether the model takes class labels."""
        return self.num_classes is not None

    @property
    def self_conditioned(self):
        """Whether D is conditioned on cluster ids that G draws from `z` itself."""
        return self.latent_clusters is not None

    @property
    def inference_generator(self):
        """The generator used for sampling and export: the EMA one if kept."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def image_shape(self):
        """The generated images' shape `(H, W, C)`."""
        return tuple(self.generator.output_shape[1:])

    def call(self, inputs, training=False):
        """Generates images from `z` or, for conditional models, `(z, labels)`.

        `inputs` may be a tensor `z`, a pair `(z, labels)` / `[z, labels]` or a
        dict `{"z": z, "label": labels}`.
        """
        z, labels = self._split_inputs(inputs)
        return self._generate(z, labels, training=False, generator=self.inference_generator)

    @property
    def record(self):
        """The `zoo.record.GeneratorRecord` of the inference generator.

        `training_steps` counts the generator optimizer's updates (left out
        before any, or when not compiled).

        Example:

        >>> zoo.create("cgan").record.num_classes
        10
        """
        steps = None
        if self.g_optimizer is not None:
            steps = int(keras.ops.convert_to_numpy(self.g_optimizer.iterations)) or None
        return GeneratorRecord(
            latent_dim=self.latent_dim,
            image_shape=self.image_shape,
            num_classes=self.num_classes,
            variant=self.variant,
            training_steps=steps,
            parameters=int(self.inference_generator.count_params()),
        )

    def generate(self, n, labels=None, seed=None, batch_size=256, truncation=None):
        """Generates `n` images as a float32 NumPy array `[n, H, W, C]` in [-1, 1].

        Draws through `zoo.sampling.Sampler.from_keras(self)`, like every
        other way of running a generator.

        Args:
            n: number of images.
            labels: for conditional models, one int per image or a single int
                for all; must be left out for unconditional models.
            seed: integer seed of the latent draw (see `zoo.latent`); the same
                seed gives the same images, also after a `.keras` round trip
                and in the exported ONNX generator.
            batch_size: images per forward pass. Defaults to `256`.
            truncation: `psi` in (0, 1], the truncation trick: `z` is `psi`
                times the seed's standard-normal draw, for more typical but
                less varied images; the same `z` in every runtime. `None` (or
                `1`): no truncation.

        Example:

        >>> images = gan.generate(16, labels=[0] * 8 + [1] * 8, seed=0)
        >>> typical = gan.generate(16, labels=3, seed=0, truncation=0.7)
        """
        from zoo.sampling import Sampler

        sampler = Sampler.from_keras(self, max_batch=batch_size)
        return sampler.generate(n, labels=labels, seed=seed, truncation=truncation)

    # ----------------------------------------------------------------- training

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`; a `tf.data.Dataset` is taken as already shuffled.

        Keras warns when `shuffle=True` (its default) meets a dataset; zoo data
        sets are shuffled by `zoo.data.load`, so the default is switched off
        for datasets only.
        """
        if isinstance(x, tf.data.Dataset) and len(args) < 7:
            kwargs.setdefault("shuffle", False)
        return super().fit(x, *args, **kwargs)

    def discriminator_penalty(self, real_images, fake_images, labels):
        """Extra term added to the discriminator loss: the sum of `d_penalties`.

        Override in a subclass for a penalty that does not fit
        `zoo.regularizers.Penalty`.

        Args:
            real_images: the real batch.
            fake_images: the generated batch of the same size.
            labels: the batch's labels, or `None`.

        Returns:
            A scalar tensor.
        """
        if not self.d_penalties:
            return 0.0

        def discriminate(images):
            return self._discriminate(images, labels, training=True)

        return tf.add_n(
            [penalty(discriminate, real_images, fake_images) for penalty in self.d_penalties]
        )

    def train_step(self, data):
        """One adversarial update: `d_steps` discriminator steps, then one generator step.

        As in the PyTorch DCGAN reference, the generator's forward pass of the
        first discriminator step is reused by the generator step (gradients
        flow through it once D has been updated), which saves one generator
        forward pass per step. Further discriminator steps draw fresh samples.
        A loss with `needs_real_logits` (relativistic) also gets D(real) there.
        """
        real_images, labels = self._split_batch(data)
        with tf.GradientTape() as g_tape:
            z = self._sample_z(real_images)
            fake_labels = self._fake_labels(z, labels)
            fake_images = self._generate(z, labels, training=True)
            with g_tape.stop_recording():
                d_loss, real_logits, fake_logits = self._discriminator_step(
                    real_images, tf.stop_gradient(fake_images), labels, fake_labels
                )
                for _ in range(self.d_steps - 1):
                    extra_z = self._sample_z(real_images)
                    extra_fakes = self._generate(extra_z, labels, training=True)
                    d_loss, real_logits, fake_logits = self._discriminator_step(
                        real_images, extra_fakes, labels, self._fake_labels(extra_z, labels)
                    )
            g_loss = self._generator_loss(fake_images, fake_labels, real_images, labels)
            scaled_g_loss = self._scaled(g_loss, self.g_optimizer)
        g_variables = self.generator.trainable_variables
        g_gradients = g_tape.gradient(scaled_g_loss, g_variables)
        self.g_optimizer.apply_gradients(zip(g_gradients, g_variables))
        if self.ema_generator is not None:
            self._update_ema()

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_accuracy_tracker.update_state(
            tf.reduce_mean(tf.cast(real_logits > 0, "float32"))
        )
        self.fake_accuracy_tracker.update_state(
            tf.reduce_mean(tf.cast(fake_logits < 0, "float32"))
        )
        return step_logs(self.metrics)

    def _generator_loss(self, fake_images, fake_labels, real_images, labels):
        """G's loss on D's fake logits, and on its real logits for a relativistic loss."""
        fake_logits = self._discriminate(fake_images, fake_labels, training=True)
        if not self.loss_fn.needs_real_logits:
            return self.loss_fn.generator_loss(fake_logits)
        real_logits = tf.stop_gradient(self._discriminate(real_images, labels, training=True))
        return self.loss_fn.generator_loss(fake_logits, real_logits=real_logits)

    def _fake_labels(self, z, labels):
        """The labels D sees with fakes: the batch's (conditional), drawn from `z` (self-conditioned)."""
        return self.cluster_of(z) if self.self_conditioned else labels

    def _discriminator_step(self, real_images, fake_images, labels, fake_labels):
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(real_images, labels, training=True)
            fake_logits = self._discriminate(fake_images, fake_labels, training=True)
            d_loss = self.loss_fn.discriminator_loss(real_logits, fake_logits)
            d_loss = d_loss + self.discriminator_penalty(
                real_images, fake_images, labels
            )
            scaled_d_loss = self._scaled(d_loss, self.d_optimizer)
        gradients = tape.gradient(scaled_d_loss, variables)
        self.d_optimizer.apply_gradients(zip(gradients, variables))
        return d_loss, real_logits, fake_logits

    def _sample_z(self, real_images):
        """Training noise for a batch the size of `real_images` (each replica its own)."""
        shape = (tf.shape(real_images)[0], self.latent_dim)
        if tf.distribute.get_strategy().num_replicas_in_sync == 1:
            return keras.random.normal(shape, seed=self.seed_generator)
        # Every replica holds the same seed state (`--seed` seeds them alike), so
        # each offsets it by its replica id: otherwise all the shares of a global
        # batch would get the same z.
        seed = self.seed_generator.next()
        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, seed.dtype)
        seed = seed + tf.stack([tf.zeros_like(replica), replica])
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
        return tf.random.stateless_normal(shape, seed=seed, dtype=keras.config.floatx())

    @staticmethod
    def _scaled(loss, optimizer):
        """The loss to differentiate: averaged over replicas, loss-scaled.

        Each replica's loss is a mean over its share of the global batch and
        replicas' gradients are summed, so dividing by the replica count gives
        the gradient of the global-batch mean; `scale_loss` multiplies by the
        dynamic loss scale of a `LossScaleOptimizer` (mixed precision).
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
        return optimizer.scale_loss(loss)

    def _update_ema(self):
        step = tf.cast(self.g_optimizer.iterations, "float32")
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            else:  # BatchNorm moving statistics are copied as they are.
                average.assign(weight)

    def _generate(self, z, labels, training, generator=None):
        generator = generator or self.generator
        if self.conditional:
            return generator([z, labels], training=training)
        return generator(z, training=training)

    def _discriminate(self, images, labels, training):
        if training and self.augment is not None:
            images = self.augment(images, training=True)
        logits = (
            self.discriminator([images, labels], training=training)
            if self.conditional or self.self_conditioned
            else self.discriminator(images, training=training)
        )
        return tf.cast(logits, "float32")

    def _split_batch(self, data):
        """Splits a `fit` batch into `(images, labels)`; labels may be `None`."""
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if self.conditional and labels is None:
            raise ZooError(
                "This conditional GAN needs (images, labels) batches. Load the "
                "data with labels, e.g. zoo.data.load(name, with_labels=True)."
            )
        if self.self_conditioned and labels is None:
            raise ZooError(
                "This self-conditioned GAN needs (images, cluster ids) batches: train it with "
                "zoo.training.train, or pass zoo.clusters.cluster_images(...).assignments "
                "as labels to zoo.data.load."
            )
        if not (self.conditional or self.self_conditioned):
            labels = None
        return images, labels

    def _split_inputs(self, inputs):
        if isinstance(inputs, dict):
            return inputs["z"], inputs.get("label")
        if isinstance(inputs, (tuple, list)):
            return inputs[0], (inputs[1] if len(inputs) > 1 else None)
        if self.conditional:
            raise ZooError(
                "This conditional GAN needs labels: call it with (z, labels)."
            )
        return inputs, None

    # ------------------------------------------------------------------ config

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(
                    self.discriminator
                ),
                "latent_dim": self.latent_dim,
                "num_classes": self.num_classes,
                "d_steps": self.d_steps,
                "variant": self.variant,
                "compile_defaults": self.compile_defaults,
                "seed": self.seed,
                "ema_decay": self.ema_decay,
                "d_penalties": [keras.saving.serialize_keras_object(p) for p in self.d_penalties],
                "augment": keras.saving.serialize_keras_object(self.augment) if self.augment is not None else None,
                "latent_clusters": self.latent_clusters,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

