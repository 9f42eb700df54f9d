"""Adversarial losses as named, swappable, serializable objects.

Every loss works on the discriminator's raw outputs (logits or critic scores) and
returns a scalar: `discriminator_loss(real_logits, fake_logits)` and
`generator_loss(fake_logits)`. A variant picks one by name; `GAN.compile(loss=...)`
overrides it.

Example:

>>> loss = zoo.losses.get("hinge")
>>> d_loss = loss.discriminator_loss(real_logits, fake_logits)
"""

from keras import ops

from zoo.components import Component, Registry


def _binary_crossentropy(logits, target):
    """Mean BCE of sigmoid(`logits`) against a constant `target` in [0, 1]."""
    return ops.mean(ops.softplus(logits) - target * logits)


class GANLoss(Component):
    """Base class of adversarial losses. Subclasses implement both methods."""

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits):
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
