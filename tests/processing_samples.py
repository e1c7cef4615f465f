"""Sample documents for the processing tests and benchmark: images, bombs, CSVs."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator


def image_bytes(
    width: int = 640, height: int = 480, fmt: str = "JPEG", exif: bool = True, mode: str = "RGB"
) -> bytes:
    """A real image with some structure, and (for JPEG) EXIF with a GPS position and a camera."""
    from PIL import Image

    image = Image.new(mode, (width, height))
    pixels = image.load()
    assert pixels is not None
    for y in range(0, height, max(1, height // 64)):
        for x in range(0, width, max(1, width // 64)):
            colour = (x * 255 // width, y * 255 // height, 128)
            pixels[x, y] = (*colour, 255) if mode == "RGBA" else colour
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "ACME Camera"  # Make
        data[0x0112] = 6  # Orientation: rotate 90 CW to display
        data[0x8825] = {1: "N", 2: (52.0, 22.0, 1.0)}  # GPS
        kwargs["exif"] = data.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares huge dimensions (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # A few rows of zeros; the declared size is what matters.
    raw = zlib.compress(b"\x00" * (width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def csv_rows(count: int, amount: str = "12.50", delimiter: str = ",") -> Iterator[str]:
    yield delimiter.join(["id", "date", "description", "amount"]) + "\n"
    for index in range(count):
        yield delimiter.join([f"r{index}", "2026-03-01", f"item {index}", amount]) + "\n"


def csv_bytes(count: int = 3, amount: str = "12.50", delimiter: str = ",") -> bytes:
    return "".join(csv_rows(count, amount, delimiter)).encode("utf-8")


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
