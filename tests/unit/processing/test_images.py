from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from docflow.processing import images
from docflow.processing.errors import CorruptImageError, ImageBombError
from shared.errors import RejectedError
from tests.processing_samples import image_bytes, png_bomb

LIMITS = images.ImageLimits(max_pixels=40_000_000, thumbnail_size=256, web_max_size=2048)


def test_inspect_reads_format_dimensions_and_exif_from_the_header() -> None:
    info = images.inspect_image(image_bytes(640, 480), LIMITS)
    assert info.to_dict() == {
        "format": "JPEG",
        "width": 640,
        "height": 480,
        "mode": "RGB",
        "has_exif": True,
    }


def test_thumbnail_fits_the_box_is_webp_and_carries_no_exif() -> None:
    rendition = images.render(image_bytes(1600, 1200), "thumbnail", LIMITS)
    out = Image.open(io.BytesIO(rendition.data))
    assert (out.format, rendition.content_type) == ("WEBP", "image/webp")
    assert max(out.size) == 256
    assert dict(out.getexif()) == {}
    assert "exif" not in out.info


def test_web_rendition_applies_the_exif_orientation_before_stripping_it() -> None:
    # Orientation 6 means "rotate 90 degrees to display": a landscape file shows as portrait.
    rendition = images.render(image_bytes(640, 480), "web", LIMITS)
    assert (rendition.width, rendition.height) == (480, 640)
    assert dict(Image.open(io.BytesIO(rendition.data)).getexif()) == {}


def test_web_rendition_keeps_alpha_for_png() -> None:
    rendition = images.render(
        image_bytes(300, 200, fmt="PNG", exif=False, mode="RGBA"), "web", LIMITS
    )
    assert Image.open(io.BytesIO(rendition.data)).mode == "RGBA"


def test_web_rendition_is_bounded_by_the_configured_size() -> None:
    limits = images.ImageLimits(max_pixels=40_000_000, web_max_size=500)
    rendition = images.render(image_bytes(1000, 400, exif=False), "web", limits)
    assert (rendition.width, rendition.height) == (500, 200)


@pytest.mark.parametrize("declared", [(100_000, 100_000), (7_000, 7_000)])
def test_a_bomb_is_refused_from_its_header(declared: tuple[int, int]) -> None:
    # 10 G pixels trips Pillow's own guard; 49 M pixels only the explicit limit.
    with pytest.raises(ImageBombError, match=r"more than 40000000 pixels|limit of 40000000"):
        images.inspect_image(png_bomb(*declared), LIMITS)


def test_the_configured_limit_replaces_pillows_default() -> None:
    small = images.ImageLimits(max_pixels=1000)
    with pytest.raises(ImageBombError, match="more than 1000 pixels"):
        images.render(image_bytes(40, 40, exif=False), "thumbnail", small)


def test_garbage_is_a_corrupt_image() -> None:
    with pytest.raises(CorruptImageError, match="not a readable PNG or JPEG image"):
        images.inspect_image(b"definitely not an image", LIMITS)


def test_image_errors_are_rejections_with_a_stable_code() -> None:
    assert issubclass(ImageBombError, RejectedError)
    assert issubclass(CorruptImageError, RejectedError)
    assert (ImageBombError.code, CorruptImageError.code) == (
        "image_bomb",
        "corrupt_image",
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("job", ["thumbnail", "web"])
def test_a_truncated_image_is_refused_when_its_pixels_are_decoded(fmt: str, job: str) -> None:
    data = image_bytes(800, 600, fmt=fmt, exif=False)
    with pytest.raises(CorruptImageError) as caught:
        images.render(data[: len(data) // 2], job, LIMITS)
    assert caught.value.message == "the image data is truncated: the file ends too early"


def _png(*chunks: tuple[bytes, bytes]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        body = kind + data
        out += struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    return out


_IHDR = (b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))


def test_a_garbage_idat_is_a_damaged_image_without_pillows_text() -> None:
    data = _png(_IHDR, (b"IDAT", b"garbage, not zlib at all"), (b"IEND", b""))
    damaged = "the image data is damaged; export the image again and resend it"
    for refuse in (
        lambda: images.inspect_image(data, LIMITS),
        lambda: images.render(data, "web", LIMITS),
    ):
        with pytest.raises(CorruptImageError) as caught:
            refuse()
        assert caught.value.message == damaged


def test_a_garbage_exif_chunk_is_refused_by_inspection() -> None:
    pixels = zlib.compress(b"\x00" + b"\x00" * 48 * 16)
    data = _png(_IHDR, (b"eXIf", b"Exif\x00\x00garbage"), (b"IDAT", pixels), (b"IEND", b""))
    with pytest.raises(CorruptImageError, match="the image data is damaged"):
        images.inspect_image(data, LIMITS)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage",
    ],
)
def test_no_rejection_message_carries_pillows_text(data: bytes) -> None:
    with pytest.raises(RejectedError) as caught:
        images.render(data, "thumbnail", LIMITS)
    assert "0x" not in caught.value.message
    assert "Error" not in caught.value.message
