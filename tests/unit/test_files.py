"""portal.files: attachments are stored by content and served without any chance to run."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from urllib.parse import unquote

import pytest

from portal.files import (
    StoredFile,
    UploadRejected,
    content_disposition,
    is_inline_image,
    path_for,
    safe_filename,
    serving_headers,
    sniff_content_type,
    store_upload,
)


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00" + b"\x08" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>\n"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


# --- safe_filename -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("C:\\Users\\me\\Desktop\\scan 1.jpg", "scan 1.jpg"),
        ("/abs/path/", "attachment"),
        ("<script>x.png", "scriptx.png"),
        ('a<b>c:d"e|f?g*h.txt', "abcdefgh.txt"),
        ("evil\r\nSet-Cookie: x=1.txt", "evil Set-Cookie x=1.txt"),
        ("nul\x00byte\x07.txt", "nulbyte.txt"),
        ("bidi\u202egnp.exe", "bidignp.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("  lots   of\t\tspace  .txt", "lots of space .txt"),
        ("...hidden", "hidden"),
        (".bashrc", "bashrc"),
        ("trailing dots...", "trailing dots"),
        ("..", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("\x00\x01\x02", "attachment"),
        ("Rechnung März.pdf", "Rechnung März.pdf"),
        ("日本語のファイル.docx", "日本語のファイル.docx"),
        ("cafe\u0301.txt", "café.txt"),  # NFC: e + combining acute becomes é
    ],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


def test_safe_filename_fallback_and_length():
    assert safe_filename("", fallback="upload") == "upload"
    long = safe_filename("x" * 400 + ".pdf")
    assert len(long) == 150 and long.endswith("xxx.pdf")
    no_extension = safe_filename("y" * 400)
    assert no_extension == "y" * 150
    unicode_long = safe_filename("é" * 300 + ".tar.gz")
    assert len(unicode_long) == 150 and unicode_long.endswith("é.gz")
    odd_extension = safe_filename("a" * 100 + "." + "b" * 100)  # not an extension: just cut
    assert len(odd_extension) == 150


# --- sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        (ZIP, "application/zip"),
        (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
        (b"Hello,\nplain text with \xc3\xa9 accents\n", "text/plain"),
        (b"a,b,c\n1,2,3\n", "text/plain"),
        (b"caf\xc3", "text/plain"),  # a character cut off at the end of the head
        (b"binary\x00data", "application/octet-stream"),
        (b"\x01\x02\x03\x04", "application/octet-stream"),
        (b"\xff\xfe<\x00s\x00v\x00g\x00>\x00", "application/octet-stream"),  # UTF-16 SVG
        (b"latin-1 \xe9t\xe9", "application/octet-stream"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "application/octet-stream"),
    ],
)
def test_sniff_content_type(data, expected):
    assert sniff_content_type(data, "whatever.bin") == expected


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (SVG, "x.png"),
        (SVG, "x.svg"),
        (HTML, "x.jpg"),
        (HTML, "x.html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg"),
        (b"\x89PNX" + SVG, "x.png"),
    ],
)
def test_markup_is_never_an_image_nor_markup(data, name):
    content_type = sniff_content_type(data, name)
    assert content_type in ("text/plain", "application/octet-stream")
    assert not is_inline_image(content_type)


def test_the_file_name_never_decides_the_type():
    assert sniff_content_type(PNG, "notes.txt") == "image/png"
    assert sniff_content_type(b"just text", "photo.jpg") == "text/plain"


def test_is_inline_image():
    for content_type in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        assert is_inline_image(content_type)
    for content_type in (
        "image/svg+xml",
        "text/html",
        "application/pdf",
        "text/plain",
        "application/octet-stream",
        "IMAGE/PNG",
        "image/png; charset=utf-8",
        "",
    ):
        assert not is_inline_image(content_type)


# --- storage -----------------------------------------------------------------------------------


async def test_store_upload_is_content_addressed(tmp_path):
    first = await store_upload(tmp_path, "../screen shot.png", PNG, max_bytes=1024 * 1024)
    digest = hashlib.sha256(PNG).hexdigest()
    assert first == StoredFile(
        sha256=digest,
        size=len(PNG),
        storage_key=f"{digest[:2]}/{digest[2:4]}/{digest}",
        content_type="image/png",
        filename="screen shot.png",
    )
    path = path_for(tmp_path, first.storage_key)
    assert path == tmp_path / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == PNG
    mtime = path.stat().st_mtime_ns

    second = await store_upload(tmp_path, "other name.PNG", PNG, max_bytes=1024 * 1024)
    assert second.storage_key == first.storage_key and second.filename == "other name.PNG"
    assert path.stat().st_mtime_ns == mtime  # not written again
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [path]  # one file, and no temporary left behind


async def test_store_upload_sniffs_instead_of_trusting_the_name(tmp_path):
    stored = await store_upload(tmp_path, "cute.png", SVG, max_bytes=10_000)
    assert stored.content_type == "text/plain"
    assert path_for(tmp_path, stored.storage_key).read_bytes() == SVG


async def test_store_upload_round_trips_different_files(tmp_path):
    stored = [
        await store_upload(tmp_path, f"f{i}.bin", data, max_bytes=10_000)
        for i, data in enumerate((PNG, PDF, b"\x00\x01" * 1000))
    ]
    assert len({s.storage_key for s in stored}) == 3
    assert [path_for(tmp_path, s.storage_key).read_bytes() for s in stored] == [PNG, PDF, b"\x00\x01" * 1000]
    assert [s.content_type for s in stored] == ["image/png", "application/pdf", "application/octet-stream"]


async def test_empty_upload_is_refused(tmp_path):
    with pytest.raises(UploadRejected) as caught:
        await store_upload(tmp_path, "empty.txt", b"", max_bytes=100)
    assert "empty.txt" in caught.value.message and "empty" in caught.value.message
    assert list(tmp_path.iterdir()) == []


async def test_oversized_upload_is_refused(tmp_path):
    limit = 2 * 1024 * 1024
    assert (await store_upload(tmp_path, "ok.bin", b"x" * limit, max_bytes=limit)).size == limit
    with pytest.raises(UploadRejected) as caught:
        await store_upload(tmp_path, "big.bin", b"x" * (limit + 1), max_bytes=limit)
    assert "2 MB" in caught.value.message and "big.bin" in caught.value.message
    assert str(caught.value) == caught.value.message
    with pytest.raises(UploadRejected, match="2.5 MB"):
        await store_upload(tmp_path, "big.bin", b"x" * (3 * 1024 * 1024), max_bytes=int(2.5 * 1024 * 1024))


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "ab/cd/" + "0" * 64,  # does not match its own hash prefix
        "AB/CD/ABCD" + "0" * 60,
        "ab/cd/ab/cd" + "0" * 60,
        "/ab/cd/abcd" + "0" * 60,
        "abcd" + "0" * 60,
        "",
    ],
)
def test_path_for_refuses_foreign_keys(tmp_path, key):
    with pytest.raises(ValueError):
        path_for(tmp_path, key)


# --- serving -----------------------------------------------------------------------------------


def _filename_of(header: str) -> str | None:
    """The name a browser takes (RFC 6266: filename* wins over filename)."""
    extended = re.search(r"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$", header)
    assert extended, header
    return unquote(extended.group(1), errors="strict")


def test_content_disposition_encodes_unicode_and_quotes():
    header = content_disposition('naïve "report".pdf', inline=False)
    assert header == "attachment; filename=\"naive report.pdf\"; filename*=UTF-8''na%C3%AFve%20report.pdf"
    assert header.isascii()
    assert _filename_of(header) == "naïve report.pdf"
    assert unquote(header.split("''", 1)[1]) == "naïve report.pdf"


def test_content_disposition_inline_and_odd_names():
    assert content_disposition("photo.png", inline=True).startswith('inline; filename="photo.png"')
    assert content_disposition("日本.pdf", inline=False) == (
        "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf"
    )
    backslash = content_disposition("a\\b\\c%41.txt", inline=False)
    assert 'filename="c41.txt"' in backslash and "\\" not in backslash
    assert content_disposition("", inline=False) == "attachment; filename=\"attachment\"; filename*=UTF-8''attachment"


def test_content_disposition_header_injection():
    header = content_disposition("evil\r\nSet-Cookie: a=1\r\n\r\n<html>.txt", inline=False)
    assert "\r" not in header and "\n" not in header
    assert header.isascii() and all(32 <= ord(c) < 127 for c in header)
    assert header.startswith("attachment; ")
    assert header.count('"') == 2  # one quoted filename, nothing breaks out of it
    assert _filename_of(header) == "evil Set-Cookie a=1 html.txt"


COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def test_serving_headers_for_an_image():
    headers = serving_headers("image/png", "shot.png")
    assert headers == {
        "Content-Type": "image/png",
        "Content-Disposition": "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png",
        **COMMON,
    }


def test_serving_headers_for_a_pdf():
    headers = serving_headers("application/pdf", "Rechnung März.pdf")
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment; ")
    assert _filename_of(headers["Content-Disposition"]) == "Rechnung März.pdf"
    assert {k: headers[k] for k in COMMON} == COMMON


def test_serving_headers_for_an_svg_named_png():
    content_type = sniff_content_type(SVG, "x.png")
    headers = serving_headers(content_type, "x.png")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"].startswith("attachment; ")
    assert {k: headers[k] for k in COMMON} == COMMON


@pytest.mark.parametrize(
    "claimed",
    ["image/svg+xml", "text/html", "application/xhtml+xml", "text/xml", "application/javascript", "", "image/png; x=1"],
)
def test_serving_headers_never_serve_markup(claimed):
    headers = serving_headers(claimed, "x.png")
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment; ")
