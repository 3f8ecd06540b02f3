"""Attachment storage and the decisions for serving attachments safely.

Files are stored content-addressed under the uploads root as ``ab/cd/<sha256>``: the client's
file name never touches the file system. The content type is sniffed from the bytes, never
taken from the client, and only a few well-known types are recognised: anything that could be
markup (HTML, SVG, XML) is at most ``text/plain``. When served, only raster images are shown
inline; everything else is a download, with ``nosniff`` and a sandboxing CSP besides.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "StoredFile",
    "UploadRejected",
    "safe_filename",
    "store_upload",
    "path_for",
    "sniff_content_type",
    "is_inline_image",
    "content_disposition",
    "serving_headers",
    "INLINE_IMAGE_TYPES",
    "SNIFF_BYTES",
    "MAX_FILENAME_LENGTH",
]

SNIFF_BYTES = 8192
MAX_FILENAME_LENGTH = 150
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Every type sniff_content_type can return; serving_headers downgrades anything else.
KNOWN_TYPES = INLINE_IMAGE_TYPES | {"application/pdf", "application/zip", "text/plain", "application/octet-stream"}
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

_STORAGE_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_FORBIDDEN_CHARS = frozenset('<>:"|?*')
_MAX_EXTENSION = 16  # a longer "extension" is just part of the name


@dataclass(frozen=True)
class StoredFile:
    sha256: str  # hex
    size: int
    storage_key: str  # "ab/cd/<sha256>" relative to the uploads root
    content_type: str  # sniffed from the bytes, NOT the client's claim
    filename: str  # display-safe name (see safe_filename)


class UploadRejected(Exception):
    """An upload we refuse; ``message`` is a sentence to show to the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A name that is safe to display and to put in a header: no directories, no control or
    format characters (CR/LF, NUL, bidi overrides), none of ``<>:"|?*``, no leading dots, at
    most 150 characters with the extension kept; ``fallback`` when nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    chars = []
    for char in name:
        category = unicodedata.category(char)
        if char.isspace() or category in ("Zl", "Zp", "Zs"):
            chars.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn") or char in _FORBIDDEN_CHARS:
            continue
        else:
            chars.append(char)
    name = " ".join("".join(chars).split())
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= _MAX_EXTENSION:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH].rstrip(". ")
    return name or fallback


def sniff_content_type(head: bytes, filename: str) -> str:
    """The content type of a file from its first bytes (``SNIFF_BYTES`` are plenty).

    ``filename`` is accepted for callers' convenience but never decides anything: a file's
    name is the client's claim. Markup (HTML, SVG, XML) is never recognised as such.
    """
    del filename  # deliberately unused, see above
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "application/zip"
    if _looks_like_text(head):
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    # Incremental decoding tolerates a multi-byte character cut off at the end of the head.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    # No NUL, and no other C0 control characters than the usual whitespace and escape.
    return not any(ord(c) < 32 and c not in "\t\n\r\f\v\x1b" for c in text)


def is_inline_image(content_type: str) -> bool:
    """Only raster images we recognise by their magic bytes are ever shown inline."""
    return content_type in INLINE_IMAGE_TYPES


def _ascii_fallback(name: str) -> str:
    """The name for old clients: printable ASCII without quote, backslash or percent."""

    def ascii_only(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        kept = "".join(c for c in decomposed if 32 <= ord(c) < 127 and c not in '"\\%')
        return " ".join(kept.split()).strip(". ")

    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem, extension = ascii_only(stem), ascii_only(extension)
    return (stem or "attachment") + (f".{extension}" if extension else "")


def content_disposition(filename: str, inline: bool) -> str:
    """A Content-Disposition value (RFC 6266): ``attachment`` unless ``inline`` is asked for,
    with a quoted ASCII ``filename`` and the exact name in ``filename*`` (RFC 5987)."""
    name = safe_filename(filename)
    disposition = "inline" if inline else "attachment"
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{disposition}; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"


def serving_headers(stored_content_type: str, filename: str) -> dict[str, str]:
    """Response headers for serving a stored attachment."""
    content_type = stored_content_type if stored_content_type in KNOWN_TYPES else "application/octet-stream"
    inline = is_inline_image(content_type)
    if content_type == "text/plain":
        content_type = "text/plain; charset=utf-8"
    return {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(filename, inline=inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": ATTACHMENT_CSP,
        # Like pages: a private file must not be shown from the browser cache after logout.
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


def path_for(root: Path, storage_key: str) -> Path:
    """The file of a storage key; a key not of our own making is a ValueError."""
    match = _STORAGE_KEY.fullmatch(storage_key)
    if not match or not match.group(3).startswith(match.group(1) + match.group(2)):
        raise ValueError(f"not a storage key: {storage_key!r}")
    return Path(root) / match.group(1) / match.group(2) / match.group(3)


def _storage_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f}" if megabytes == round(megabytes) else f"{megabytes:.1f}"


def _write_once(target: Path, data: bytes) -> None:
    """Write data to target atomically, unless it is already there (content-addressed)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


async def store_upload(root: Path, filename: str, data: bytes, *, max_bytes: int) -> StoredFile:
    """Check and store an upload; returns what to record about it.

    Raises UploadRejected for an empty file or one larger than ``max_bytes``. The hashing and
    file I/O run in a worker thread.
    """
    name = safe_filename(filename)
    if not data:
        raise UploadRejected(f"The file “{name}” is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The file “{name}” is too large: attachments can be at most {_megabytes(max_bytes)} MB.")

    def work() -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        key = _storage_key(digest)
        _write_once(path_for(root, key), data)
        return StoredFile(
            sha256=digest,
            size=len(data),
            storage_key=key,
            content_type=sniff_content_type(data[:SNIFF_BYTES], name),
            filename=name,
        )

    return await asyncio.to_thread(work)
