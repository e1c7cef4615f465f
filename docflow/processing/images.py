"""Image transforms with Pillow: inspect, thumbnail and web rendition, metadata stripped.

Pillow is imported inside these functions, so only the functions that transform images pay
for it. Decompression bombs (a small file declaring huge dimensions) are refused from the
header alone, before any pixel is decoded: the explicit pixel limit is checked first, and
Pillow's own `MAX_IMAGE_PIXELS` guard is set to the same limit and turned into an error as a
second line of defence.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.errors import PermanentError

if TYPE_CHECKING:
    from PIL.Image import Image

ALLOWED_FORMATS = frozenset({"PNG", "JPEG"})


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int
    thumbnail_size: int = 256
    web_max_size: int = 2048
    web_quality: int = 80


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    mode: str
    has_exif: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "has_exif": self.has_exif,
        }


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


class ImageBombError(PermanentError):
    """The image declares more pixels than the configured limit."""

    code = "image_bomb"


class CorruptImageError(PermanentError):
    """The bytes are not a readable PNG or JPEG image."""

    code = "corrupt_image"


@contextmanager
def _opened(data: bytes, limits: ImageLimits) -> Iterator[Image]:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageBombError(f"image_bomb: {exc}") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise CorruptImageError(f"corrupt_image: not a readable PNG or JPEG ({exc})") from exc
        with image:
            pixels = image.width * image.height
            if pixels > limits.max_pixels:
                raise ImageBombError(
                    f"image_bomb: {image.width}x{image.height} is {pixels} pixels, "
                    f"over the limit of {limits.max_pixels}"
                )
            yield image


def inspect_image(data: bytes, limits: ImageLimits) -> ImageInfo:
    """Format, dimensions and whether EXIF is present, from the header only."""
    with _opened(data, limits) as image:
        return ImageInfo(
            format=str(image.format),
            width=image.width,
            height=image.height,
            mode=image.mode,
            has_exif=bool(image.getexif()),
        )


def _decoded(image: Image) -> Image:
    """The pixels upright (EXIF orientation applied), in a mode WebP can store, no metadata."""
    from PIL import Image as PilImage
    from PIL import ImageOps

    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(f"corrupt_image: the pixel data is damaged ({exc})") from exc
    has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    # A fresh image carries pixels only: EXIF, XMP, comments and text chunks stay behind.
    stripped = PilImage.new(clean.mode, clean.size)
    stripped.paste(clean)
    return stripped


def _encode(image: Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=quality, method=4)
    return out.getvalue()


def render(data: bytes, job: str, limits: ImageLimits) -> Rendition:
    """The `thumbnail` (fits a square of `thumbnail_size`) or `web` rendition as WebP."""
    from PIL import Image as PilImage

    bound = limits.thumbnail_size if job == "thumbnail" else limits.web_max_size
    with _opened(data, limits) as image:
        if job == "thumbnail":
            # draft() lets the JPEG decoder scale down while decoding: far less memory.
            image.draft("RGB", (bound, bound))
        picture = _decoded(image)
    picture.thumbnail((bound, bound), PilImage.Resampling.LANCZOS)
    return Rendition(
        data=_encode(picture, limits.web_quality),
        content_type="image/webp",
        extension="webp",
        width=picture.width,
        height=picture.height,
    )
