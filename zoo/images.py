"""Turning generator outputs into pictures (NumPy and Pillow only)."""

import math

import numpy as np

from zoo.files import write_bytes_atomically


def to_uint8(images):
    """Maps float images in [-1, 1] to uint8 in [0, 255] (values outside are clipped).

    Example:

    >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=2, pad_value=0):
    """Tiles a batch `[n, H, W, C]` of images into one `[rows*H, columns*W, C]` image.

    Args:
        images: float in [-1, 1] or uint8.
        columns: images per row; defaults to `ceil(sqrt(n))`.
        padding: pixels between tiles.
        pad_value: uint8 value of the padding.

    Returns:
        A uint8 array of shape `[rows * (H + padding) + padding, ..., C]`.

    Example:

    >>> make_grid(np.zeros((16, 28, 28, 1), "uint8")).shape
    (122, 122, 1)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    if images.ndim != 4:
        raise ValueError(
            f"Expected images of shape [n, H, W, C]. Received: shape={images.shape}."
        )
    n, height, width, channels = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    grid = np.full(
        (
            rows * (height + padding) + padding,
            columns * (width + padding) + padding,
            channels,
        ),
        pad_value,
        dtype=np.uint8,
    )
    for index in range(n):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top : top + height, left : left + width] = images[index]
    return grid


def encode_png(image):
    """Encodes a uint8 `[H, W, C]` image (C = 1 or 3) as PNG bytes."""
    import io

    from PIL import Image

    image = np.asarray(image)
    if image.shape[-1] == 1:
        image = image[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(image, path):
    """Writes a uint8 image as PNG atomically (temporary file, then rename)."""
    write_bytes_atomically(path, encode_png(image))


def save_grid(images, path, columns=None):
    """Writes a grid of `images` to the PNG file `path` and returns the grid.

    Example:

    >>> save_grid(gan.generate(64, seed=0), "grid.png")
    """
    grid = make_grid(images, columns=columns)
    save_png(grid, path)
    return grid
