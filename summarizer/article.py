"""Checking an article before any model sees it."""

from __future__ import annotations

import re

from .errors import ArticleError

#: Share of control characters (other than whitespace) above which text is taken for binary data.
MAX_CONTROL_SHARE = 0.01
#: Control characters (Unicode category Cc) other than NUL and the whitespace ones (tab, newlines, form feed).
_CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f-\x9f]")
#: Articles shorter than this many non-space characters have nothing to summarise.
MIN_CHARS = 20
#: An HTML document, not its text: a doctype or <html> opening, or markup for much of the text.
_HTML_START = re.compile(r"\A\s*(?:<!doctype\s+html|<html[\s>]|<\?xml)", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
#: Scripts written without spaces between words, where quotes cannot be located word by word.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f\u0e80-\u0eff"
                       "\u1000-\u109f\u1780-\u17ff]")


def decode_article(data: bytes) -> str:
    """Decode an article's bytes as UTF-8 (a BOM is dropped), or raise :class:`ArticleError`."""
    if b"\x00" in data:
        raise ArticleError(f"the article is binary data (NUL byte at offset {data.index(0)}), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            f"the article is not UTF-8 text (undecodable byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    return check_article(text)


def check_article(text: str) -> str:
    """Return ``text`` unchanged if it looks like an article, else raise :class:`ArticleError`."""
    if not isinstance(text, str):
        raise ArticleError(f"the article must be str or bytes, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ArticleError("the article is empty" if not text else "the article is only whitespace")
    if "\x00" in text:
        raise ArticleError(f"the article is binary data (NUL character at offset {text.index(chr(0))}), not text")
    controls = len(_CONTROL.findall(text))
    if controls > MAX_CONTROL_SHARE * len(text):
        raise ArticleError(f"the article looks like binary data ({controls} control characters)")
    if "\ufffd" in text and text.count("\ufffd") > MAX_CONTROL_SHARE * len(text):
        raise ArticleError("the article is mostly undecodable characters (U+FFFD)")
    if len("".join(stripped.split())) < MIN_CHARS:
        raise ArticleError(f"the article is too short to summarise ({len(stripped)} characters)")
    if _HTML_START.match(text) or len("".join(_TAG.findall(text[:20000]))) > 0.2 * min(len(text), 20000):
        raise ArticleError("the article is an HTML page, not its text: extract the text first (for example "
                           "`trafilatura page.html`, or a reader view) and summarise that; evidence offsets are "
                           "offsets in the text you pass")
    letters = sum(map(str.isalpha, text[:20000]))
    if letters and len(_UNSPACED.findall(text[:20000])) > 0.3 * letters:
        raise ArticleError("the article is in a language written without spaces between words (Chinese, Japanese, "
                           "Korean, Thai, ...): not supported yet, as quotes are located word by word")
    return text


def coerce_article(article: str | bytes) -> str:
    """Accept text or UTF-8 bytes; return checked text."""
    if isinstance(article, bytes | bytearray):
        return decode_article(bytes(article))
    return check_article(article)
