from __future__ import annotations

import pytest

from summarizer import ArticleError, check_article, decode_article


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\t  ", "only whitespace"),
        (b"Some text\x00with a NUL byte in the middle of it", "NUL byte at offset 9"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "binary"),
        (b"Caf\xe9 au lait is what the article talked about here", "not UTF-8"),
        (b"Too short.", "too short"),
    ],
)
def test_bad_bytes_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ArticleError, match=message):
        decode_article(data)


def test_control_characters_are_taken_for_binary() -> None:
    text = "News " + "\x01\x02\x03\x04" * 20 + " more news about the world and everything in it"
    with pytest.raises(ArticleError, match="binary"):
        check_article(text)


def test_good_text_is_returned_unchanged_and_bom_dropped() -> None:
    text = "Officials said on Wednesday that the plan would go ahead.\r\n\r\nIt did."
    assert check_article(text) is text
    assert decode_article(b"\xef\xbb\xbf" + text.encode()) == text


def test_non_text_types_are_refused() -> None:
    with pytest.raises(ArticleError, match="str or bytes"):
        check_article(42)  # type: ignore[arg-type]
