"""Turning generator outputs into pictures (NumPy, and zlib for PNG)."""

import math
import struct
import zlib

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


def encode_png(image, compress_level=6):
    """Encodes a uint8 `[H, W, C]` (C = 1 or 3) or `[H, W]` image as PNG bytes.

    8-bit greyscale or RGB, no filtering, one zlib stream (the standard
    library's): a few microseconds for a small grid, which is what a server
    answering one-image requests needs (Pillow's writer costs ~3x that in
    Python-level overhead). Any PNG reader decodes it. `compress_level` is
    zlib's, 0-9 (default 6, as Pillow's; the HTTP service uses 0 for a tiny
    grid and 1 otherwise, see `zoo.serving.served.STORED_PNG_BYTES`).

    Example:

    >>> encode_png(np.zeros((2, 3, 1), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in _PNG_COLOUR_TYPES or 0 in image.shape:
        raise ValueError(
            f"Expected a uint8 image [H, W, 1 or 3]. Received: dtype={image.dtype}, shape={image.shape}."
        )
    height, width, channels = image.shape
    rows = np.empty((height, 1 + width * channels), np.uint8)
    rows[:, 0] = 0  # filter type 0 (none) before each row
    rows[:, 1:] = image.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", header),
        _png_chunk(b"IDAT", _deflate(rows.tobytes(), compress_level)),
        _png_chunk(b"IEND", b""),
    ))


_PNG_COLOUR_TYPES = {1: 0, 3: 2}  # channels -> PNG colour type (greyscale, truecolour)


def _deflate(data, level):
    """A zlib stream of `data` whose window and hash table fit its size.

    A tiny image compresses the same with a window no longer than itself, and
    zlib's default 256 KB of state per call costs more than the compression
    when the allocator hands out fresh pages (3-5x, on a busy server).
    """
    window_bits = max(9, min(15, (len(data) - 1).bit_length()))
    compressor = zlib.compressobj(level, zlib.DEFLATED, window_bits, max(1, min(8, window_bits - 7)))
    return compressor.compress(data) + compressor.flush()


def _png_chunk(kind, data):
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


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
