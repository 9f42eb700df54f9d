"""The named data sets the zoo knows: their names, splits, image shapes and class names.

Example:

>>> CLASS_NAMES["fashion_mnist"][0], IMAGE_SHAPES["cifar10"]
('T-shirt/top', (32, 32, 3))
"""

KNOWN_DATASETS = frozenset({"mnist", "fashion_mnist", "cifar10"})

SPLITS = ("train", "test")

IMAGE_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}

CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
}
