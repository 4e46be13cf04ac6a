"""Text normalisation: width folding, traditional→simplified, HTML and whitespace clean-up.

``normalize_text`` runs on every appeal, so it is a handful of C-level passes (regex,
``unicodedata``) and never raises. OpenCC runs only on a text that holds one of the characters its
``t2s`` dictionaries convert (:mod:`minyi_nlp.text.traditional`); the converter is built on first use.
"""

from __future__ import annotations

import html
import math
import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

from minyi_nlp.text.traditional import has_traditional, trigger_chars

__all__ = ["nfkc", "normalize_and_tell", "normalize_text", "to_simplified"]

# Only real HTML: a known tag name right after "<", then ">", "/" or whitespace. The data uses
# "<A市新图>" as book-title quotes and our own "<PHONE>", "<ADDRESS>" placeholders: none may be stripped.
_TAG_NAMES = (
    "a|abbr|address|article|aside|audio|b|big|blockquote|body|br|button|caption|center|code|col|"
    "colgroup|dd|del|div|dl|dt|em|embed|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|"
    "html|i|iframe|img|input|ins|label|li|link|main|meta|nav|object|ol|option|p|pre|q|s|section|"
    "select|small|source|span|strike|strong|sub|sup|table|tbody|td|textarea|tfoot|th|thead|title|"
    "tr|tt|u|ul|video|wbr|o:p"
)
_HTML_RE = re.compile(
    r"<!--.*?-->"  # comments
    r"|<(script|style)\b[^<>]{0,500}>.*?</\1\s*>"  # whole script/style blocks
    r"|<!doctype[^<>]{0,200}>"
    rf"|</?(?!ADDRESS>)(?:{_TAG_NAMES})(?:\s[^<>]{{0,500}})?/?>",  # <ADDRESS> is the masker's, not HTML's
    re.IGNORECASE | re.DOTALL,
)
# openpyxl escapes of control characters left in Excel cells ("_x000D_").
_XL_ESCAPE_RE = re.compile(r"_x00[01][0-9A-Fa-f]_")
# Surrogates (OpenCC cannot encode them), C0/C1 controls, zero-width and BOM characters.
_JUNK = r"\ud800-\udfff\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff"
_JUNK_RE = re.compile(rf"[{_JUNK}]")
_SPACE_RE = re.compile(r"\s+")

_converter: Any = None
_converter_lock = threading.Lock()


def _get_converter() -> Any:
    """The OpenCC t2s converter, built once on first use (thread-safe)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``); returns the input if OpenCC fails.

    A text without any character that OpenCC converts is returned as it is, without calling it."""
    if text.isascii() or not has_traditional(text):
        return text
    try:
        return str(_get_converter().convert(text))
    except Exception:  # never let a converter problem stop the pipeline
        return text


# The full-width punctuation of nearly every Chinese text, replaced one by one (``str.replace`` is a C
# scan; ``str.translate`` with a table is slower on CJK text).
_COMMON_FULL_WIDTH = tuple(
    (ch, unicodedata.normalize("NFKC", ch)) for ch in "，：；？！（）％＋－／＜＞＝［］｛｝～．\u3000\xa0…"
)


_COMMON_MAP = dict(_COMMON_FULL_WIDTH)


@lru_cache(maxsize=1)
def _special() -> tuple[re.Pattern[str], frozenset[str], bool]:
    """One class of the characters that make a step of ``normalize_text`` act on a text (junk, the
    common full-width punctuation but "，", OpenCC triggers; astral ones as one range, kept out of the
    bitmap), the set of triggers, and whether no step's output can be a trigger (then a text whose
    characters hold none needs no OpenCC)."""
    triggers = trigger_chars()
    bmp = "".join(sorted(ch for ch in triggers | set(_COMMON_MAP) if ord(ch) < 0x10000 and ch != "，"))
    pattern = re.compile(rf"[{_JUNK}{re.escape(bmp)}\U00010000-\U0010ffff]")
    outputs = set(" ".join(_COMMON_MAP.values()))
    return pattern, triggers, triggers.isdisjoint(outputs)


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on Chinese text.

    The common full-width punctuation (，：？（）…) is replaced by its NFKC form with ``str.replace``
    first; what is left is normalised only when the quick check says it is not NFKC already. The
    result is the same: NFKC works character by character, and these characters decompose to one
    ASCII character each."""
    for ch, ascii_ch in _COMMON_FULL_WIDTH:
        if ch in text:
            text = text.replace(ch, ascii_ch)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


def _strip_html(text: str) -> str:
    """Remove HTML tags/comments and unescape entities (only when the text looks like HTML)."""
    if "<" in text:
        text = _HTML_RE.sub(" ", text)
    if "&" in text:
        unescaped = html.unescape(text)
        if unescaped != text:  # entities may produce full-width or odd characters
            text = unicodedata.normalize("NFKC", unescaped)
    return text


def _coerce(text: Any) -> str:
    """``None``/NaN (as pandas gives for empty cells) → ``""``, other non-str values → ``str``."""
    if isinstance(text, str):
        return text
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return str(text)


def normalize_text(text: str) -> str:
    """Normalise an appeal text; never raises.

    Steps: NFKC (full-width ASCII, ideographic space → half-width; Chinese 。、“” stay, ，：；？！（）
    become ASCII), strip HTML and unescape entities, traditional → simplified, drop control and
    zero-width characters, collapse whitespace runs to one space and strip the ends.
    """
    return normalize_and_tell(text)[0]


def normalize_and_tell(text: str) -> tuple[str, bool]:
    """``normalize_text(text)``, and whether OpenCC rewrote it: only then can the result hold full-width
    ASCII or the ideographic space (NFKC leaves none)."""
    text = _coerce(text)
    if not text:
        return "", False
    special, triggers, outputs_safe = _special()
    found = set(special.findall(text))  # one scan says which steps have work
    if found and _JUNK_RE.search("".join(found)):
        text = _JUNK_RE.sub(" ", text)
    if "_x" in text:
        text = _XL_ESCAPE_RE.sub(" ", text)
    # nfkc(text), with the common characters looked up in ``found`` instead of one scan each
    if "，" in text:
        text = text.replace("，", ",")
    for ch in found:
        ascii_ch = _COMMON_MAP.get(ch)
        if ascii_ch is not None:
            text = text.replace(ch, ascii_ch)
    changed = False  # by a step whose output ``found`` knows nothing of
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
        changed = True
    if "<" in text or "&" in text:
        stripped = _strip_html(text)
        changed = changed or stripped != text
        text = stripped
    converted = False
    if changed or not outputs_safe or not triggers.isdisjoint(found):
        simplified = to_simplified(text)
        converted = simplified is not text
        text = simplified
    return " ".join(text.split()), converted  # = _SPACE_RE.sub(" ", text).strip(): both split on str.isspace
