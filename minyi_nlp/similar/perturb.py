"""Copies of real appeal texts changed the way a resubmission changes them, to test the search.

``formatting`` (punctuation and width), ``greeting`` (an opening and a closing line), ``phone`` (a contact
number written into the text), ``all_three``, and ``reworded`` (a few words dropped or replaced: a harder
case than the ≥ 0.99 recall target covers). Every function is deterministic given its ``rng``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["PERTURBATIONS", "all_three", "formatting", "greeting", "phone", "reworded"]

_TO_FULL = {",": "，", ".": "。", "!": "！", "?": "？", ":": "：", ";": "；", "(": "（", ")": "）"}
_TO_HALF = {v: k for k, v in _TO_FULL.items()}
_OPENINGS = ("尊敬的领导：您好！", "您好，", "领导好！", "你好！我想反映一个问题。", "书记您好：")
_CLOSINGS = ("谢谢！", "望尽快处理，谢谢。", "盼复！", "请相关部门重视，谢谢领导。")
_PHONE_CUES = ("联系电话：", "我的电话", "手机号", "电话：")
_FILLERS = ("这个", "我们", "相关", "一直", "非常")


def formatting(text: str, rng: np.random.Generator) -> str:
    """Swap half/full-width punctuation, drop some marks, add spaces and a line break."""
    table = _TO_HALF if rng.random() < 0.5 else _TO_FULL
    out = []
    for ch in text:
        if ch in "，。！？,.!?" and rng.random() < 0.15:
            continue
        out.append(table.get(ch, ch))
        if rng.random() < 0.02:
            out.append(" ")
    cut = int(rng.integers(0, max(1, len(out))))
    return "".join(out[:cut]) + "\n" + "".join(out[cut:])


def greeting(text: str, rng: np.random.Generator) -> str:
    """An opening greeting and a closing line around the text."""
    return str(rng.choice(_OPENINGS)) + text + str(rng.choice(_CLOSINGS))


def phone(text: str, rng: np.random.Generator) -> str:
    """A mobile number with a cue word, at the end or after the first sentence."""
    number = str(rng.choice(["13", "15", "18", "17"])) + "".join(str(d) for d in rng.integers(0, 10, 9))
    piece = f"{rng.choice(_PHONE_CUES)}{number}。"
    cut = text.find("。") + 1
    return text[:cut] + piece + text[cut:] if cut > 0 and rng.random() < 0.5 else text + piece


def all_three(text: str, rng: np.random.Generator) -> str:
    """Formatting, greeting and phone number together."""
    return phone(greeting(formatting(text, rng), rng), rng)


def reworded(text: str, rng: np.random.Generator, edits: int = 3) -> str:
    """``edits`` spans of 2–4 characters dropped or replaced by a filler word."""
    chars = list(text)
    for _ in range(edits):
        if len(chars) < 12:
            break
        width = int(rng.integers(2, 5))
        start = int(rng.integers(0, len(chars) - width))
        chars[start : start + width] = list(str(rng.choice(_FILLERS))) if rng.random() < 0.5 else []
    return "".join(chars)


PERTURBATIONS: dict[str, Callable[[str, np.random.Generator], str]] = {
    "formatting": formatting,
    "greeting": greeting,
    "phone": phone,
    "all_three": all_three,
    "reworded": reworded,
}
