"""Image transforms with Pillow: inspect, thumbnail and web rendition, metadata stripped.

Pillow is imported inside these functions, so only the functions that transform images pay
for it. Decompression bombs (a small file declaring huge dimensions) are refused from the
header alone, before any pixel is decoded: the explicit pixel limit is checked first, and
Pillow's own `MAX_IMAGE_PIXELS` guard is set to the same limit and turned into an error as a
second line of defence. Whatever the bytes, the result is an image or a `RejectedError`
(`image_bomb`, `corrupt_image`) whose message is ours, never Pillow's text.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docflow.processing.errors import CorruptImageError, ImageBombError

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


# What Pillow raises on hostile bytes, beyond its documented OSError and SyntaxError: its
# parsers index, unpack and divide what the file declares. Never the text of these: it may
# carry internal detail (`<_io.BytesIO object at 0x...>`).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
    EOFError,
    struct.error,
)


def _damaged(exc: BaseException, what: str) -> CorruptImageError:
    if "truncated" in str(exc).lower():
        return CorruptImageError(f"the image {what} is truncated: the file ends too early")
    return CorruptImageError(f"the image {what} is damaged; export the image again and resend it")


def _bomb(width: int, height: int, limit: int) -> ImageBombError:
    return ImageBombError(
        f"the image declares {width}x{height} = {width * height} pixels, over the limit of {limit}"
    )


@contextmanager
def _opened(data: bytes, limits: ImageLimits) -> Iterator[Image]:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageBombError(
                f"the image declares more than {limits.max_pixels} pixels"
            ) from exc
        except _DECODE_ERRORS as exc:  # UnidentifiedImageError is an OSError
            raise CorruptImageError("the file is not a readable PNG or JPEG image") from exc
        with image:
            if image.width * image.height > limits.max_pixels:
                raise _bomb(image.width, image.height, limits.max_pixels)
            yield image


def inspect_image(data: bytes, limits: ImageLimits) -> ImageInfo:
    """Format, dimensions and whether EXIF is present; the pixel limit from the header only."""
    with _opened(data, limits) as image:
        try:
            # getexif() parses the eXIf/APP1 segment the client wrote; for a PNG without an
            # eXIf chunk before its pixels it decodes them to look for one after.
            has_exif = bool(image.getexif())
        except _DECODE_ERRORS as exc:
            raise _damaged(exc, "data") from exc
        return ImageInfo(
            format=str(image.format),
            width=image.width,
            height=image.height,
            mode=image.mode,
            has_exif=has_exif,
        )


def _decoded(image: Image, draft: int | None) -> Image:
    """The pixels upright (EXIF orientation applied), in a mode WebP can store, no metadata."""
    from PIL import Image as PilImage
    from PIL import ImageOps

    try:
        if draft is not None:
            # draft() lets the JPEG decoder scale down while decoding: far less memory.
            image.draft("RGB", (draft, draft))
        image.load()
        upright = ImageOps.exif_transpose(image)
        has_alpha = upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info
        clean = upright.convert("RGBA" if has_alpha else "RGB")
    except _DECODE_ERRORS as exc:
        raise _damaged(exc, "data") from exc
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
        picture = _decoded(image, bound if job == "thumbnail" else None)
    picture.thumbnail((bound, bound), PilImage.Resampling.LANCZOS)
    return Rendition(
        data=_encode(picture, limits.web_quality),
        content_type="image/webp",
        extension="webp",
        width=picture.width,
        height=picture.height,
    )
