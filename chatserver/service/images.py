"""Images re-encoded before they are kept (issue 15): what a phone wrote into a photo (EXIF:
its GPS position, the camera, the time) is not sent on, the picture is turned upright as
EXIF said, and a thumbnail is made. Plain CPU work: the caller runs it off the event loop."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, ImageSequence

from chatserver.domain.errors import Refused

MAX_PIXELS = 40_000_000  # a 40-megapixel photo; a "zip bomb" PNG declares billions
THUMBNAIL = (320, 320)
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}


def reencode(data: bytes, kind: str) -> tuple[bytes, bytes]:
    """The image without its metadata, and its PNG thumbnail; Refused 413 for one too big
    to decode safely, 415 for one that is not the image it claims to be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[FORMATS[kind]])
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Refused(413, "too_large", f"the image is {width} by {height} pixels; at "
                              f"most {MAX_PIXELS // 1_000_000} million pixels are taken")
            return _clean(image, FORMATS[kind]), _thumbnail(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(413, "too_large", "the image has too many pixels to open") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise Refused(415, "unsupported_type", "the image is damaged or not what its first "
                      "bytes say; send it again as PNG, JPEG, WebP or GIF") from None


def _clean(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "GIF" and getattr(image, "n_frames", 1) > 1:
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:],
                       loop=image.info.get("loop", 0), duration=image.info.get("duration"))
        return out.getvalue()
    upright = ImageOps.exif_transpose(image)  # EXIF's orientation applied, EXIF dropped
    if fmt == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
    upright.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    image.seek(0)
    small = ImageOps.exif_transpose(image)
    small.thumbnail(THUMBNAIL)
    out = io.BytesIO()
    small.save(out, "PNG")
    return out.getvalue()
