"""Images re-encoded before they are kept: metadata gone, upright, animations kept, damaged
files and bombs refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chatserver.domain.errors import Refused
from chatserver.service.images import reencode
from tests.attachment_files import huge_png, image

ORIENTATION = 0x0112


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", "image/png"), ("WEBP", "image/webp"),
                                           ("JPEG", "image/jpeg")])
def test_a_photos_exif_is_dropped_in_every_format(fmt: str, kind: str) -> None:
    clean, thumbnail = reencode(image(fmt, gps=True), kind)
    assert dict(opened(clean).getexif()) == {}
    assert opened(thumbnail).format == "PNG"


def test_a_photo_is_turned_upright_as_its_exif_said() -> None:
    sideways = Image.new("RGB", (40, 30))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # turned 90 degrees: shown 30 wide, 40 high
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif.tobytes())
    clean, _thumbnail = reencode(out.getvalue(), "image/jpeg")
    assert opened(clean).size == (30, 40)


def test_an_animated_gif_keeps_its_frames() -> None:
    frames = [Image.new("RGB", (10, 10), (i * 100, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    clean, _thumbnail = reencode(out.getvalue(), "image/gif")
    assert getattr(opened(clean), "n_frames", 1) == 3


def test_a_damaged_image_is_415_and_a_bomb_413() -> None:
    with pytest.raises(Refused) as damaged:
        reencode(b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "image/png")
    assert damaged.value.status == 415
    with pytest.raises(Refused) as bomb:
        reencode(huge_png(), "image/png")
    assert bomb.value.status == 413
