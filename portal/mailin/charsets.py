"""Bytes of a mail into text when the charset is missing, wrong or unknown, without ever raising.

Mail in the wild lies about its charset: Outlook Express sends windows-1252 without a declaration, old
scripts declare us-ascii or utf-8 over windows-1252 bytes, and some mailers invent names (``x-unknown``).
The rules, in order: a declared charset that decodes the bytes cleanly wins (iso-8859-1 and us-ascii read
as windows-1252, as browsers do); then utf-8; then windows-1252 when the bytes look like a Western
language (few 8-bit bytes among ASCII letters); then what charset-normalizer finds; then windows-1252 with
replacement characters. charset-normalizer alone is poor at short Western text (it reads "prêt" as
cp1250 "pręt"), hence the Western shortcut before it.

Header values arrive from ``email`` as ``str`` in which raw 8-bit bytes are surrogate escapes; encoded
words (RFC 2047) are decoded here too, so an unknown charset in ``=?x-unknown?Q?Caf=E9?=`` still reads
"Café".
"""

from __future__ import annotations

import binascii
import codecs
import re

from charset_normalizer import from_bytes

WESTERN = "cp1252"
# Legacy charsets charset-normalizer may pick from once the Western shortcut has declined.
_CANDIDATES = [
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "shift_jis",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "euc_kr",
]
# charset-normalizer's picks for Latin-script text; it prefers cp1250 where cp1252 is far more likely.
_LATIN = {"cp1252", "cp1250", "cp1254", "cp1257", "latin_1", "iso8859_15", "iso8859_2", "mac_roman"}
# Codecs that are not charsets of text, or that turn bytes into escapes: treated as unknown.
_REFUSED = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}
_READ_AS_WESTERN = {"ascii", "latin_1", "iso8859_1", "cp1252"}
_SAMPLE = 256 * 1024
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_HIGH = bytes(range(128, 256))
_SURROGATE_RUN = re.compile("[\udc80-\udcff]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def codec_name(charset: str) -> str | None:
    """Python's codec for a MIME charset name, or None when unknown or not a text charset."""
    name = charset.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not name or len(name) > 40:
        return None
    if not name.isascii() or not name.isprintable():
        return None
    try:
        codec = codecs.lookup(name).name.replace("-", "_")
    except (LookupError, ValueError, TypeError, UnicodeError):
        return None
    try:
        b"a".decode(name)  # LookupError for bytes codecs (base64, zlib), which are no charsets
    except UnicodeError:
        pass  # a text codec that wants more than one byte (utf-16)
    except LookupError:
        return None
    return None if codec in _REFUSED else codec


def display_name(codec: str) -> str:
    """The MIME spelling of a codec name, for repair notes ("windows-1252", "utf-8")."""
    if codec.startswith("cp12"):
        return "windows-" + codec[2:]
    return codec.replace("_", "-")


def decode_bytes(data: bytes, declared: str) -> tuple[str, str]:
    """Text of ``data`` and, when the declared charset was missing or wrong, the charset used instead.

    The second item is "" when the declaration was honoured."""
    if data.isascii():
        return data.decode("ascii"), ""
    codec = codec_name(declared) if declared else None
    if codec in _READ_AS_WESTERN and codec != "ascii":
        return _western(data), ""
    if codec and codec != "ascii":
        try:
            return data.decode(codec), ""
        except UnicodeError:
            pass
    text, used = guess(data)
    return text, display_name(used)


def guess(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset: utf-8, else Western, else charset-normalizer's pick."""
    try:
        return data.decode("utf-8"), "utf_8"
    except UnicodeDecodeError:
        pass
    if _looks_western(data):
        return _western(data), WESTERN
    best = from_bytes(data[:_SAMPLE], cp_isolation=_CANDIDATES).best()
    if best is not None and best.encoding not in _LATIN:
        try:
            return data.decode(best.encoding, errors="replace"), best.encoding
        except LookupError:
            pass
    return _western(data), WESTERN


def _looks_western(data: bytes) -> bool:
    """No more 8-bit bytes than ASCII letters: a Latin-script language in a single-byte charset (Cyrillic,
    Greek or Japanese text has few ASCII letters)."""
    sample = data[:_SAMPLE]
    letters = len(sample) - len(sample.translate(None, _ASCII_LETTERS))
    high = len(sample) - len(sample.translate(None, _HIGH))
    return high <= letters


def _western(data: bytes) -> str:
    """windows-1252, with U+FFFD for its five undefined bytes."""
    return data.decode(WESTERN, errors="replace")


def repair_surrogates(text: str) -> str:
    """Turn the surrogate escapes of raw 8-bit bytes back into characters (utf-8, else windows-1252)."""
    if not _SURROGATE_RUN.search(text):
        return text
    return _SURROGATE_RUN.sub(lambda m: _decode_short(m.group().encode("utf-8", "surrogateescape")), text)


def _decode_short(data: bytes) -> str:
    """A header's bytes are too short for statistics: utf-8 or windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _western(data)


def decode_header(value: str) -> str:
    """One line of text from a raw header value: encoded words decoded, 8-bit bytes repaired, unfolded."""
    pieces: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent encoded words, joined before decoding
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if pending and between.strip():
            pieces.append(_decode_words(pending))
            pending = []
        if not pending:
            pieces.append(repair_surrogates(between))
        pending.append((match.group(1), _word_bytes(match.group(2), match.group(3))))
        pos = match.end()
    if pending:
        pieces.append(_decode_words(pending))
    pieces.append(repair_surrogates(value[pos:]))
    return one_line("".join(pieces))


def header_needs_guess(value: str) -> bool:
    """Whether decoding ``value`` has to guess: raw 8-bit bytes, or an encoded word in an unknown charset."""
    for run in _SURROGATE_RUN.findall(value):
        try:
            run.encode("utf-8", "surrogateescape").decode("utf-8")
        except UnicodeDecodeError:
            return True  # raw 8-bit bytes that are not utf-8 (RFC 6532 allows utf-8 only)
    return any(codec_name(match.group(1)) is None for match in _ENCODED_WORD.finditer(value))


def one_line(text: str) -> str:
    """Control characters dropped, runs of white space made one space."""
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def _word_bytes(encoding: str, payload: str) -> bytes:
    raw = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "Bb":
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return raw


def _decode_words(words: list[tuple[str, bytes]]) -> str:
    """Adjacent words of one charset are decoded together (some mailers split a character between them)."""
    out: list[str] = []
    charset, data = words[0][0], b""
    for word_charset, word_data in words:
        if word_charset.lower() != charset.lower():
            out.append(decode_word(charset, data))
            charset, data = word_charset, b""
        data += word_data
    out.append(decode_word(charset, data))
    return "".join(out)


def decode_word(charset: str, data: bytes) -> str:
    """Bytes in a charset named by the mail (RFC 2047 word, RFC 2231 parameter), whatever the name."""
    codec = codec_name(charset)
    if codec in _READ_AS_WESTERN and codec != "ascii":
        return _western(data)
    if codec:
        try:
            return data.decode(codec)
        except UnicodeError:
            pass
    return _decode_short(data)


def clean_text(text: str) -> str:
    """Text safe to store: no NUL (PostgreSQL refuses it), no lone surrogates (utf-8 refuses them)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
