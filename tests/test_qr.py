"""QR codes for invites: real PNG/SVG files made, damaged, rotated and read back."""

from __future__ import annotations

import io
import re
import struct
import time
import xml.etree.ElementTree as ET
import zlib
from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFilter

from libra_gui.core.crypto.onion import onion_address_from_seed
from libra_gui.core.errors import LibraError
from libra_gui.core.protocol.uri import Invite, InviteError, InviteVersionError
from libra_gui.core.services.qr import (
    MAX_IMAGE_FILE_BYTES,
    MAX_QR_TEXT,
    QUIET_ZONE,
    ImageTooLarge,
    ImageUnreadable,
    NoQrCodeFound,
    NotAnInvite,
    QrCodeDamaged,
    QrError,
    decode_qr_gray,
    decode_qr_image,
    find_invite,
    invite_from_texts,
    qr_matrix,
    qr_png,
    qr_svg,
)

# A full private invite as Libra writes it: its own beacon address (ONION) and credential.
INVITE = Invite(
    ("amber", "falcon", "raven"),
    bytes(range(32)),
    counter=2,
    credential=bytes(range(200, 232)),
    expires=1_767_225_600,
    one_time=True,
    onion=onion_address_from_seed(bytes(range(64, 96))),
)
PUBLIC = Invite(("quiet", "olive", "harbor"), bytes(range(1, 33)))
SVG_NS = "{http://www.w3.org/2000/svg}"


def png_bytes(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose header claims width x height 1-bit pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


# --- generation and round trip --------------------------------------------------------------


def test_png_file_round_trip(tmp_path):
    path = tmp_path / "invite.png"
    data = qr_png(INVITE, path)
    assert path.read_bytes() == data
    assert decode_qr_image(path) == [INVITE.to_uri()]
    assert decode_qr_image(str(path)) == [INVITE.to_uri()]
    assert find_invite(path) == INVITE
    assert find_invite(data) == INVITE  # bytes, as the GUI passes a pasted image


def test_png_is_small_deterministic_one_bit_with_quiet_zone():
    data = qr_png(PUBLIC, scale=4)
    assert data == qr_png(PUBLIC.to_uri(), scale=4)
    image = Image.open(io.BytesIO(data))
    n = len(qr_matrix(PUBLIC))
    assert image.format == "PNG" and image.mode == "1" and image.size == (4 * n, 4 * n)
    border = 4 * QUIET_ZONE
    pixels = image.convert("L").load()
    assert all(pixels[x, y] == 255 for x in range(4 * n) for y in range(border))
    assert all(pixels[x, y] == 255 for x in range(border) for y in range(4 * n))
    assert len(data) < 2000


def qr_version(text: str) -> int:
    return (len(qr_matrix(text)) - 2 * QUIET_ZONE - 17) // 4


@pytest.mark.parametrize(
    ("invite", "length", "upper_version", "lower_version"),
    [
        (INVITE, 228, 9, 11),  # 53 x 53 modules instead of 61 x 61
        (replace(INVITE, onion=None), 165, 7, 9),  # 45 x 45 instead of 53 x 53
        (PUBLIC, 87, 4, 6),  # 33 x 33 instead of 41 x 41
    ],
)
def test_upper_case_invite_uses_alphanumeric_mode(invite, length, upper_version, lower_version):
    """The whole point of the upper-case syntax: a smaller symbol than byte mode.

    The numbers are the table in docs/protocol/uri.md section 3."""
    uri = invite.to_uri()
    assert len(uri) == length
    assert len(qr_matrix(uri)) == 17 + 4 * upper_version + 2 * QUIET_ZONE
    assert qr_version(uri) == upper_version
    assert qr_version(invite.to_uri(lowercase=True)) == lower_version


def test_matrix_has_quiet_zone():
    matrix = qr_matrix(INVITE)
    assert not any(matrix[0]) and not any(row[0] for row in matrix)
    assert not any(any(row[:QUIET_ZONE]) for row in matrix)
    assert matrix[QUIET_ZONE][QUIET_ZONE]  # the finder pattern's corner


def test_svg_is_xml_with_background_and_path():
    svg = qr_svg(INVITE)
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG_NS}svg"
    n = len(qr_matrix(INVITE))
    assert root.get("viewBox") == f"0 0 {n} {n}"
    (rect,) = root.findall(f"{SVG_NS}rect")
    assert rect.get("fill") == "#ffffff" and rect.get("width") == str(n)
    (path,) = root.findall(f"{SVG_NS}path")
    dark = sum(map(sum, qr_matrix(INVITE)))
    runs = re.findall(r"M\d+ \d+h(\d+)v1h-\1z", path.get("d"))
    assert sum(map(int, runs)) == dark
    assert re.fullmatch(r"(M\d+ \d+h(\d+)v1h-\2z)+", path.get("d"))


def test_svg_renders_and_decodes(qapp):
    """Rendered by Qt's SVG engine (independent of our writer), read through the pixel path."""
    qt_svg = pytest.importorskip("PySide6.QtSvg")
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QImage, QPainter

    renderer = qt_svg.QSvgRenderer(QByteArray(qr_svg(INVITE).encode()))
    assert renderer.isValid()
    image = QImage(400, 400, QImage.Format.Format_Grayscale8)
    image.fill(128)  # anything the SVG leaves unpainted would spoil the quiet zone
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    pixels = bytes(image.constBits())[: image.bytesPerLine() * image.height()]
    texts = decode_qr_gray(pixels, image.width(), image.height(), image.bytesPerLine())
    assert invite_from_texts(texts) == INVITE


def test_generation_limits():
    with pytest.raises(QrError, match="scale"):
        qr_png(INVITE, scale=0)
    with pytest.raises(QrError, match="scale"):
        qr_png(INVITE, scale=1000)
    with pytest.raises(QrError, match="too long"):
        qr_svg("A" * (MAX_QR_TEXT + 1))
    with pytest.raises(QrError):
        qr_png("")
    assert issubclass(QrError, LibraError)


# --- decoding real-world images -------------------------------------------------------------


def test_scaled_rotated_noisy_photo_still_decodes(tmp_path):
    qr = Image.open(io.BytesIO(qr_png(INVITE, scale=3))).convert("L")
    qr = qr.resize((int(qr.width * 2.7), int(qr.height * 2.7)), Image.Resampling.BILINEAR)
    qr = qr.rotate(90, expand=True)
    canvas = Image.new("L", (1280, 960), 170)  # a grey desk
    canvas.paste(qr, (300, 150))
    noise = Image.effect_noise(canvas.size, 40)  # Gaussian, centred on 128
    photo = Image.blend(canvas, noise, 0.25).filter(ImageFilter.GaussianBlur(1.2))
    path = tmp_path / "photo.jpg"
    photo.convert("RGB").save(path, quality=70)
    assert find_invite(path) == INVITE


def test_slightly_tilted_code_decodes(tmp_path):
    qr = Image.open(io.BytesIO(qr_png(PUBLIC, scale=6))).convert("L")
    tilted = qr.rotate(17, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    path = tmp_path / "tilted.png"
    tilted.save(path)
    assert find_invite(path) == PUBLIC


def test_transparent_background_decodes(tmp_path):
    qr = Image.open(io.BytesIO(qr_png(PUBLIC, scale=5))).convert("L")
    # black modules, fully transparent elsewhere (RGB black there too, as many tools write)
    rgba = Image.new("RGBA", qr.size, (0, 0, 0, 0))
    rgba.putalpha(qr.point(lambda v: 255 - v))
    path = tmp_path / "transparent.png"
    rgba.save(path)
    assert find_invite(path) == PUBLIC


@pytest.mark.parametrize(("mode", "fmt"), [("RGB", "PNG"), ("P", "GIF"), ("RGB", "WEBP")])
def test_other_formats_decode(mode, fmt):
    image = Image.open(io.BytesIO(qr_png(PUBLIC, scale=4))).convert(mode)
    assert find_invite(png_bytes(image, fmt, **({"lossless": True} if fmt == "WEBP" else {})))


def test_invite_found_next_to_another_code():
    other = Image.open(io.BytesIO(qr_png("https://example.org/", scale=4))).convert("L")
    invite = Image.open(io.BytesIO(qr_png(PUBLIC, scale=4))).convert("L")
    canvas = Image.new(
        "L", (other.width + invite.width + 40, max(other.height, invite.height)), 255
    )
    canvas.paste(other, (0, 0))
    canvas.paste(invite, (other.width + 40, 0))
    data = png_bytes(canvas)
    assert sorted(decode_qr_image(data)) == sorted(["https://example.org/", PUBLIC.to_uri()])
    assert find_invite(data) == PUBLIC


# --- typed errors ---------------------------------------------------------------------------


def test_non_libra_qr_is_not_an_invite(tmp_path):
    path = tmp_path / "web.png"
    qr_png("https://example.org/", path)
    assert decode_qr_image(path) == ["https://example.org/"]
    with pytest.raises(NotAnInvite, match="not a Libra invite"):
        find_invite(path)


def test_newer_libra_invite_says_update():
    data = qr_png(INVITE.to_uri().replace("V1", "V2"))
    with pytest.raises(InviteVersionError, match="update Libra"):
        find_invite(data)


def test_broken_libra_invite_gives_the_reason():
    data = qr_png(INVITE.to_uri().replace("/C:2", "/C:02"))
    with pytest.raises(InviteError, match="leading zeros"):
        find_invite(data)


@pytest.mark.parametrize("kind", ["white", "noise", "photo"])
def test_image_without_qr(kind):
    if kind == "white":
        image = Image.new("L", (640, 480), 255)
    elif kind == "noise":
        image = Image.effect_noise((640, 480), 80)
    else:
        image = Image.linear_gradient("L").resize((640, 480))
        ImageDraw.Draw(image).ellipse((100, 100, 300, 300), fill=20)
    data = png_bytes(image)
    assert decode_qr_image(data) == []
    with pytest.raises(NoQrCodeFound, match="no QR code"):
        find_invite(data)


def test_damaged_qr_is_reported_as_damaged():
    image = Image.open(io.BytesIO(qr_png(INVITE, scale=6))).convert("L")
    w = image.width
    ImageDraw.Draw(image).rectangle((w * 0.3, w * 0.3, w * 0.7, w * 0.7), fill=128)
    with pytest.raises(QrCodeDamaged, match="could not be read"):
        find_invite(png_bytes(image))


def test_huge_header_is_refused_quickly(tmp_path):
    for width, height in ((100_000, 100_000), (5000, 5000)):  # Pillow's guard; ours
        path = tmp_path / f"bomb{width}.png"
        path.write_bytes(bomb_png(width, height))
        started = time.perf_counter()
        with pytest.raises(ImageTooLarge):
            find_invite(path)
        assert time.perf_counter() - started < 0.5


def test_real_large_image_is_refused(tmp_path):
    path = tmp_path / "big.png"
    Image.new("1", (6000, 4000), 1).save(path)  # 24 MP
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="megapixels"):
        decode_qr_image(path)
    assert time.perf_counter() - started < 0.5


def test_large_file_is_refused(tmp_path):
    path = tmp_path / "big.jpg"
    with path.open("wb") as f:
        f.truncate(MAX_IMAGE_FILE_BYTES + 1)
    with pytest.raises(ImageTooLarge, match="file is too large"):
        find_invite(path)


@pytest.mark.parametrize("keep", [8, 40, 0.5, -24])  # signature, in IHDR, mid-IDAT, IDAT end
def test_truncated_png_is_a_typed_error(tmp_path, keep):
    data = qr_png(INVITE)
    path = tmp_path / "cut.png"
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(ImageUnreadable, match="damaged or truncated"):
        find_invite(path)


def test_truncated_jpeg_is_a_typed_error():
    image = Image.open(io.BytesIO(qr_png(INVITE))).convert("RGB")
    data = png_bytes(image, "JPEG")
    with pytest.raises(ImageUnreadable):
        find_invite(data[: len(data) // 2])


def test_corrupted_png_is_a_typed_error():
    data = bytearray(qr_png(INVITE))
    data[len(data) // 2] ^= 0xFF  # breaks the IDAT checksum
    with pytest.raises(ImageUnreadable):
        find_invite(bytes(data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, not an image", "not an image Libra can read"),
        (b"\x89PNG\r\n\x1a\n", "damaged or truncated"),
        (b"GIF89a\x00", "damaged or truncated"),
        (b"%PDF-1.7\n", "not an image Libra can read"),
    ],
)
def test_not_an_image(data, message):
    with pytest.raises(ImageUnreadable, match=message):
        find_invite(data)


def test_unsupported_format_is_refused():
    image = Image.open(io.BytesIO(qr_png(PUBLIC))).convert("L")
    with pytest.raises(ImageUnreadable, match="PNG, JPEG"):
        find_invite(png_bytes(image, "TIFF"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageUnreadable, match="cannot read"):
        find_invite(tmp_path / "nope.png")
    with pytest.raises(ImageUnreadable, match="cannot read"):
        find_invite(tmp_path)


# --- raw pixel input (what the GUI passes from a QImage) ------------------------------------


def test_gray_pixels_with_row_padding():
    image = Image.open(io.BytesIO(qr_png(PUBLIC, scale=3))).convert("L")
    stride = image.width + 13
    rows = image.tobytes()
    padded = b"".join(
        rows[y * image.width : (y + 1) * image.width] + b"\x7f" * 13 for y in range(image.height)
    )
    assert decode_qr_gray(padded, image.width, image.height, stride) == [PUBLIC.to_uri()]
    assert decode_qr_gray(rows, image.width, image.height) == [PUBLIC.to_uri()]


def test_gray_pixels_are_checked():
    with pytest.raises(ImageTooLarge):
        decode_qr_gray(b"", 10_000, 10_000)
    with pytest.raises(ImageUnreadable, match="shorter"):
        decode_qr_gray(b"\x00" * 99, 10, 10)
    with pytest.raises(ImageUnreadable, match="dimensions"):
        decode_qr_gray(b"\x00" * 100, 0, 10)
    with pytest.raises(ImageUnreadable, match="dimensions"):
        decode_qr_gray(b"\x00" * 100, 10, 10, row_stride=5)


def test_invite_from_texts_priorities():
    good = PUBLIC.to_uri()
    assert invite_from_texts(["https://x", "libra:v1/bad", good]) == PUBLIC
    with pytest.raises(InviteError):
        invite_from_texts(["https://x", "libra:v1/bad"])
    with pytest.raises(NotAnInvite):
        invite_from_texts(["https://x"], damaged=2)
    with pytest.raises(QrCodeDamaged):
        invite_from_texts([], damaged=1)
    with pytest.raises(NoQrCodeFound):
        invite_from_texts([])
