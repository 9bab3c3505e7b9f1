"""An uploaded avatar portrait: bytes from the page, checked before anything decodes them fully.

Only the bytes travel; the page can never name a file on the server.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import MediaError
from ..media import MAX_PIXELS

#: Largest upload accepted, in bytes.
MAX_BYTES = 5 << 20
#: Formats PIL must recognise from the content (the file name and MIME type are not trusted).
FORMATS = {"PNG", "JPEG", "WEBP"}
#: Portraits larger than this on either side are refused: they only cost time.
MAX_SIDE = 4096


def decode_portrait(data: bytes) -> np.ndarray:
    """RGB uint8 from PNG, JPEG or WebP bytes; ``MediaError`` saying what is wrong otherwise."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_BYTES:
        raise MediaError(f"the image is {len(data) >> 20} MiB; at most {MAX_BYTES >> 20} MiB.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS:
                raise MediaError(f"{img.format} images are not accepted; use PNG, JPEG or WebP.")
            if max(img.size) > MAX_SIDE or img.width * img.height > MAX_PIXELS:
                raise MediaError(f"the image is {img.width}x{img.height}; at most "
                                 f"{MAX_SIDE}x{MAX_SIDE}.")
            return np.asarray(img.convert("RGB"))
    except Image.DecompressionBombError as exc:
        raise MediaError(f"the image has more than {MAX_PIXELS:,} pixels (a decompression "
                         "bomb?); scale it down first.") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError("the file is not an image (PNG, JPEG or WebP) that can be read.") from exc
