"""Adversarial losses as named, swappable, serializable objects.

Every loss works on the discriminator's raw outputs (logits or critic scores) and
returns a scalar: `discriminator_loss(real_logits, fake_logits)` and
`generator_loss(fake_logits)`. A relativistic loss compares each fake with a real
image, so its generator term needs D's real logits too: it declares
`needs_real_logits = True` and `zoo.GAN` then also passes
`generator_loss(fake_logits, real_logits=...)`. A variant picks a loss by name;
`GAN.compile(loss=...)` overrides it.

Example:

>>> loss = zoo.losses.get("hinge")
>>> d_loss = loss.discriminator_loss(real_logits, fake_logits)
"""

from keras import ops

from zoo.components import Component, Registry
from zoo.errors import ZooError


def _binary_crossentropy(logits, target):
    """Mean BCE of sigmoid(`logits`) against a constant `target` in [0, 1]."""
    return ops.mean(ops.softplus(logits) - target * logits)


class GANLoss(Component):
    """Base class of adversarial losses. Subclasses implement both methods.

    Attributes:
        needs_real_logits: whether `generator_loss` needs D's logits of the
            real batch as well (relativistic losses). When `True`, `zoo.GAN`
            runs D on the real batch in the generator step too and calls
            `generator_loss(fake_logits, real_logits=...)`; otherwise it calls
            `generator_loss(fake_logits)`. Defaults to `False`.
    """

    needs_real_logits = False

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits, real_logits=None):
        raise NotImplementedError


LOSSES = Registry("loss", base=GANLoss)
_register = LOSSES.register


@_register("non_saturating")
class NonSaturatingLoss(GANLoss):
    """Goodfellow et al. (2014)'s loss with the non-saturating generator term.

    D minimises BCE(real, 1) + BCE(fake, 0); G minimises BCE(fake, 1), i.e.
    `-log D(G(z))`, which keeps gradients alive when D wins early.

    Args:
        label_smoothing: one-sided smoothing of the real target (Salimans et al.
            2016): real images are pushed towards `1 - label_smoothing`.
            Defaults to `0.0`.
    """

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = float(label_smoothing)

    def discriminator_loss(self, real_logits, fake_logits):
        real_target = 1.0 - self.label_smoothing
        return _binary_crossentropy(real_logits, real_target) + _binary_crossentropy(
            fake_logits, 0.0
        )

    def generator_loss(self, fake_logits):
        return _binary_crossentropy(fake_logits, 1.0)

    def get_config(self):
        return {"label_smoothing": self.label_smoothing}


@_register("minimax")
class MinimaxLoss(NonSaturatingLoss):
    """The original minimax loss: G minimises `log(1 - D(G(z)))` (Goodfellow 2014)."""

    def generator_loss(self, fake_logits):
        return -_binary_crossentropy(fake_logits, 0.0)


@_register("hinge")
class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018), used with spectral norm."""

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(
            ops.relu(1.0 + fake_logits)
        )

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


@_register("wasserstein")
class WassersteinLoss(GANLoss):
    """Wasserstein critic loss (Arjovsky et al. 2017); pair it with a penalty."""

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


@_register("least_squares")
class LeastSquaresLoss(GANLoss):
    """Least-squares loss (Mao et al. 2017) with targets a=0, b=c=1."""

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * (
            ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits))
        )

    def generator_loss(self, fake_logits):
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


@_register("relativistic_pairing")
class RelativisticPairingLoss(GANLoss):
    """The relativistic pairing loss, RpGAN (Jolicoeur-Martineau 2018).

    Each real image is paired with the fake of the same batch position and D
    scores the pair's difference: D minimises
    `mean(softplus(-(D(x_real) - D(x_fake))))` and G minimises
    `mean(softplus(-(D(x_fake) - D(x_real))))`. R3GAN (Huang et al. 2024) pairs
    it with zero-centred penalties on real and fake data
    (`zoo.regularizers.R1Penalty` + `R2Penalty`), which keep training stable
    and cover the data's modes. The generator term needs the real logits
    (`needs_real_logits`), so the real and fake batches must have one size.

    Example:

    >>> gan = zoo.create("dcgan", d_penalties=["r1", "r2"])
    >>> gan.compile(loss="relativistic_pairing")
    """

    needs_real_logits = True

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.softplus(fake_logits - real_logits))

    def generator_loss(self, fake_logits, real_logits=None):
        if real_logits is None:
            raise ZooError(
                "The relativistic pairing loss compares each fake with a real image. "
                "Received: real_logits=None. Pass generator_loss(fake_logits, real_logits=...)."
            )
        return ops.mean(ops.softplus(real_logits - fake_logits))


def list_losses():
    """Returns the names of the built-in losses."""
    return LOSSES.names()


def get(identifier):
    """Returns a loss from a name, a serialized config or an instance.

    Example:

    >>> zoo.losses.get("non_saturating")
    NonSaturatingLoss({'label_smoothing': 0.0})
    """
    return LOSSES.get(identifier)
