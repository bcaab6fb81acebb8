"""QR codes for invites: draw them (PNG, SVG) and read them back from image files.

* Encoding: ``qrcode`` (pure Python) builds the module matrix with error correction M (15 %
  of the symbol may be lost) and a 4-module quiet zone; an upper-case invite goes in one
  alphanumeric segment (see core/protocol/uri.py). We draw the matrix ourselves: a 1-bit PNG
  through Pillow, an SVG with one ``<path>`` on an opaque white square (a transparent QR
  vanishes on a dark theme), both deterministic (no timestamps or metadata).
* Decoding: ``zxing-cpp`` (a 1 MB wheel, no numpy; design.md §3) on an 8-bit grey image.
  Pillow reads the file, restricted to PNG, JPEG, WebP, GIF and BMP (less parser surface), and
  the pixel count is checked from the header *before* anything is decoded, so a tiny file
  claiming to be 100,000 x 100,000 pixels is refused at once.
* Every failure caused by the image is a :class:`QrError` subclass with a message for the
  user; Pillow's zoo of exceptions (OSError, SyntaxError, EOFError, zlib.error...) stays inside.

No Qt here (core/ never imports it): the GUI hands over encoded bytes (e.g. a QImage saved to
PNG in a QBuffer) or raw 8-bit grey pixels.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import qrcode
import qrcode.constants
import qrcode.exceptions
import zxingcpp
from PIL import Image, UnidentifiedImageError

from ..errors import LibraError
from ..protocol.uri import Invite, InviteError, is_invite_uri, parse_invite

MAX_IMAGE_PIXELS = 20_000_000  # a 20 MP photo; a QR needs far less
MAX_IMAGE_FILE_BYTES = 32 * 1024 * 1024
MAX_QR_TEXT = 1024  # we encode invites (<= 512 characters), nothing bigger
QUIET_ZONE = 4  # modules of white border, as ISO/IEC 18004 requires
DEFAULT_SCALE = 8  # pixels per module in PNGs
MAX_SCALE = 64
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_FORMATS_TEXT = "PNG, JPEG, WebP, GIF or BMP"
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview


class QrError(LibraError):
    """An image or QR code that cannot give an invite; the message says why."""


class ImageUnreadable(QrError):
    """The file is missing, not an image of a supported format, damaged or truncated."""


class ImageTooLarge(QrError):
    """The image (file size or pixel count) is above the limit; refused before decoding."""


class NoQrCodeFound(QrError):
    """The image was read but shows no QR code."""


class QrCodeDamaged(QrError):
    """A QR code was located but could not be decoded (blurred, cut off, damaged)."""


class NotAnInvite(QrError):
    """The image holds a QR code, but not a ``libra:`` invite (e.g. a web link)."""


# --- generation -----------------------------------------------------------------------------


def qr_matrix(uri: str | Invite) -> list[list[bool]]:
    """The QR modules (True = dark), quiet zone included; error correction M."""
    text = uri.to_uri() if isinstance(uri, Invite) else uri
    if not isinstance(text, str) or not text:
        raise QrError("nothing to put in a QR code")
    if len(text) > MAX_QR_TEXT:
        raise QrError(f"text is too long for an invite QR code (over {MAX_QR_TEXT} characters)")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    qr.add_data(text)  # qrcode picks alphanumeric mode by itself for an upper-case invite
    try:
        qr.make(fit=True)
    except qrcode.exceptions.DataOverflowError as exc:  # only with very non-ASCII text
        raise QrError("text does not fit in a QR code") from exc
    return qr.get_matrix()


def qr_png(
    uri: str | Invite,
    dest: str | os.PathLike[str] | None = None,
    *,
    scale: int = DEFAULT_SCALE,
) -> bytes:
    """A 1-bit PNG of the QR code (``scale`` pixels per module); also written to ``dest``."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise QrError(f"scale must be 1 to {MAX_SCALE} pixels per module")
    matrix = qr_matrix(uri)
    n = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (n, n), pixels)
    if scale > 1:
        image = image.resize((n * scale, n * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if dest is not None:
        Path(dest).write_bytes(data)
    return data


def qr_svg(uri: str | Invite, *, size: int = 256) -> str:
    """A standalone SVG: black modules as one ``<path>`` (runs of a row) on a white square.

    Coordinates are in modules (``viewBox``), so it scales crisply; ``size`` only sets the
    default width/height in pixels.
    """
    matrix = qr_matrix(uri)
    n = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'width="{size}" height="{size}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#ffffff"/>'
        f'<path d="{"".join(runs)}" fill="#000000"/></svg>\n'
    )


# --- decoding -------------------------------------------------------------------------------


def decode_qr_image(source: ImageSource) -> list[str]:
    """Texts of every readable QR code in an image file (path or the file's bytes).

    Returns ``[]`` if no QR code could be read; raises ImageUnreadable / ImageTooLarge if the
    image itself is the problem.
    """
    return _scan(_load_gray(_read_source(source)))[0]


def decode_qr_gray(pixels: bytes, width: int, height: int, row_stride: int = 0) -> list[str]:
    """Like :func:`decode_qr_image` for raw 8-bit grey pixels (e.g. a QImage's bits)."""
    stride = row_stride or width
    if (
        not all(isinstance(v, int) for v in (width, height, stride))
        or width < 1
        or height < 1
        or stride < width
    ):
        raise ImageUnreadable("image dimensions are invalid")
    if width * height > MAX_IMAGE_PIXELS:
        raise _too_many_pixels(width, height)
    if len(pixels) < stride * (height - 1) + width:
        raise ImageUnreadable("image buffer is shorter than its dimensions say")
    image = Image.frombuffer("L", (width, height), bytes(pixels), "raw", "L", stride, 1)
    return _scan(image)[0]


def find_invite(source: ImageSource) -> Invite:
    """The first valid ``libra:`` invite in an image file (path or bytes).

    Raises ImageUnreadable / ImageTooLarge (the file), NoQrCodeFound, QrCodeDamaged,
    NotAnInvite (a QR code holding something else), or the InviteError of a broken or newer
    ``libra:`` invite (so "update Libra" reaches the user).
    """
    texts, damaged = _scan(_load_gray(_read_source(source)))
    return invite_from_texts(texts, damaged=damaged)


def invite_from_texts(texts: Iterable[str], *, damaged: int = 0) -> Invite:
    """Pick the first valid invite among decoded QR texts; typed error if there is none."""
    texts = list(texts)
    first_error: InviteError | None = None
    for text in texts:
        if not is_invite_uri(text):
            continue
        try:
            return parse_invite(text)
        except InviteError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    if texts:
        raise NotAnInvite("this QR code is not a Libra invite")
    if damaged:
        raise QrCodeDamaged(
            "a QR code was found but could not be read: try a sharper, larger or complete image"
        )
    raise NoQrCodeFound("no QR code found in the image")


# --- helpers --------------------------------------------------------------------------------


def _read_source(source: ImageSource) -> bytes:
    """The encoded image bytes, read with a size cap (no stat-then-read race)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_IMAGE_FILE_BYTES + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ImageUnreadable(f"cannot read the image file: {reason}") from exc
    if len(data) > MAX_IMAGE_FILE_BYTES:
        raise ImageTooLarge(
            f"image file is too large (over {MAX_IMAGE_FILE_BYTES // (1024 * 1024)} MB)"
        )
    if not data:
        raise ImageUnreadable("the image file is empty")
    return data


def _load_gray(data: bytes) -> Image.Image:
    """Decode to 8-bit grey, transparent areas made white; pixel count checked first."""
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_many_pixels(width, height)
            image.draft("L", image.size)  # JPEG: decode straight to grey, cheaper
            return _to_gray(image)
    except QrError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for absurd headers
        raise ImageTooLarge("image has far too many pixels") from exc
    except UnidentifiedImageError as exc:
        if data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise ImageUnreadable("the image file is damaged or truncated") from exc
        raise ImageUnreadable(f"not an image Libra can read (use {_FORMATS_TEXT})") from exc
    except Exception as exc:  # untrusted file: any parser failure means "damaged"
        raise ImageUnreadable("the image file is damaged or truncated") from exc


def _to_gray(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:  # a QR drawn on a transparent background: put it on white first
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey PNG
        return image.point(lambda v: v / 256).convert("L")
    return image.convert("L")


def _scan(image: Image.Image) -> tuple[list[str], int]:
    """(texts of valid QR codes, deduplicated in order; number of damaged ones)."""
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode, return_errors=True
    )
    texts = list(dict.fromkeys(r.text for r in results if r.valid))
    damaged = sum(1 for r in results if not r.valid)
    return texts, damaged


def _too_many_pixels(width: int, height: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"image is too large ({width} x {height} pixels; at most "
        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
    )
