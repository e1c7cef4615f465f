from __future__ import annotations

import io

import pytest
from PIL import Image

from docflow.processing import images
from shared.errors import PermanentError
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
    with pytest.raises(images.ImageBombError, match="image_bomb") as caught:
        images.inspect_image(png_bomb(*declared), LIMITS)
    assert isinstance(caught.value, PermanentError)


def test_the_configured_limit_replaces_pillows_default() -> None:
    small = images.ImageLimits(max_pixels=1000)
    with pytest.raises(images.ImageBombError, match=r"1600 pixels.* limit of 1000"):
        images.render(image_bytes(40, 40, exif=False), "thumbnail", small)


def test_garbage_is_a_corrupt_image() -> None:
    with pytest.raises(images.CorruptImageError, match="corrupt_image: not a readable"):
        images.inspect_image(b"definitely not an image", LIMITS)


def test_a_truncated_image_fails_when_its_pixels_are_decoded() -> None:
    data = image_bytes(800, 600)
    with pytest.raises(images.CorruptImageError, match="corrupt_image"):
        images.render(data[: len(data) // 2], "web", LIMITS)
