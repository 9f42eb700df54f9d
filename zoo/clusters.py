"""Unsupervised clusters of a data set, for self-conditioned GANs.

A self-conditioned GAN (Liu et al. 2020, "Diverse Image Generation via
Self-Conditioned GANs") trains like a conditional GAN on cluster ids that it
finds itself, without labels, and samples the cluster from the latent vector
(`zoo.layers.LatentCluster`). Conditioning splits one hard, many-modal
distribution into simpler ones and keeps every mode in play, which helps most
early in training. Here the clusters are fixed before training: k-means
(scikit-learn) on the images' leading principal components.

Example:

>>> images, _ = zoo.data.load_arrays("fashion_mnist")
>>> clustering = cluster_images(images, k=10, seed=0)
>>> clustering.assignments.shape, len(clustering.frequencies)
((60000,), 10)
"""

import dataclasses

import numpy as np

from zoo.errors import ZooError


@dataclasses.dataclass
class Clustering:
    """Cluster ids of a data set's images and the clusters' shares."""

    assignments: np.ndarray  # int32 [n]
    frequencies: list  # float [k], sums to 1
    components: int

    def purity(self, labels):
        """Share of images whose cluster's majority label is their own label."""
        labels = np.asarray(labels)
        return float(
            sum(np.bincount(labels[self.assignments == c]).max() for c in np.unique(self.assignments))
            / len(labels)
        )


def cluster_images(images, k, seed=0, components=50, sample=20000):
    """k-means of `images` (uint8 or float `[n, H, W, C]`) on their principal components.

    Args:
        images: the training images.
        k: number of clusters, at least 2 and at most the number of images.
        seed: seed of the PCA subsample and of k-means.
        components: principal components kept (fewer if the images have fewer pixels).
        sample: images used to fit PCA and k-means (all are then assigned).

    Returns:
        A `Clustering`; clusters that end up empty are dropped and the ids renumbered.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    images = np.asarray(images)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= len(images):
        raise ZooError(
            f"clusters must be an integer from 2 to the number of images ({len(images)}). Received: {k!r}."
        )
    pixels = images.reshape(len(images), -1).astype("float32")
    if images.dtype == np.uint8:
        pixels /= 255.0
    rng = np.random.default_rng(seed)
    subset = pixels[rng.permutation(len(pixels))[: min(sample, len(pixels))]]
    components = int(min(components, pixels.shape[1], len(subset)))
    pca = PCA(n_components=components, random_state=seed).fit(subset)
    kmeans = KMeans(n_clusters=int(k), n_init=3, random_state=seed).fit(pca.transform(subset))
    assignments = kmeans.predict(pca.transform(pixels)).astype("int32")
    used, assignments = np.unique(assignments, return_inverse=True)
    counts = np.bincount(assignments, minlength=len(used))
    return Clustering(
        assignments=assignments.astype("int32"),
        frequencies=(counts / counts.sum()).tolist(),
        components=components,
    )
