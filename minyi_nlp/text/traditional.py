"""Which characters can make OpenCC's ``t2s`` change a text: a cheap gate in front of the converter.

OpenCC changes a text only where one of its dictionary keys (a traditional character or phrase) occurs
in it. ``minyi_nlp/resources/opencc_t2s_triggers.txt`` lists, for every key whose conversion differs
from the key, at least one of its characters: every character that OpenCC converts on its own, and for
a phrase made only of characters it leaves alone (瞭解 → 了解, 甦醒 → 苏醒), its characters outside
GB 2312 (the simplified-Chinese repertoire). A text with none of these characters is left as it is,
without calling OpenCC.

One deliberate difference: OpenCC's phrase rules whose keys are written entirely in GB 2312 characters
that OpenCC keeps on their own (打坏 → 打坯, 沈思 → 沉思, 回覆 → 回复) rewrite words that are
already simplified text (坏 "bad", the surname 沈); the gate does not trigger on them.

The list is built from OpenCC's own dictionaries with ``python -m minyi_nlp.text.traditional``
(it dumps them with the ``opencc_dict`` tool shipped in the ``opencc`` wheel);
``tests/code/test_traditional.py`` rebuilds it from the installed OpenCC and compares.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

__all__ = [
    "build_triggers", "dictionary_entries", "has_traditional", "trigger_chars", "triggers_file", "write_triggers",
]


def triggers_file() -> Path:
    """The packaged trigger list (one line of characters)."""
    from minyi_nlp.config import RESOURCES_DIR

    return RESOURCES_DIR / "opencc_t2s_triggers.txt"


_ASTRAL_RE = re.compile(r"[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def trigger_chars() -> frozenset[str]:
    """Every trigger character (the packaged list)."""
    return frozenset(triggers_file().read_text(encoding="utf-8").strip())


@lru_cache(maxsize=1)
def _triggers() -> tuple[re.Pattern[str], frozenset[str]]:
    """A regex of the BMP trigger characters (a bitmap lookup in ``re``) and the set of the others."""
    chars = trigger_chars()
    bmp = "".join(sorted(ch for ch in chars if ord(ch) < 0x10000))
    return re.compile("[" + re.escape(bmp) + "]"), frozenset(ch for ch in chars if ord(ch) >= 0x10000)


def has_traditional(text: str) -> bool:
    """True when OpenCC ``t2s`` may change ``text`` (it holds a trigger character)."""
    bmp, astral = _triggers()
    if bmp.search(text) is not None:
        return True
    return _ASTRAL_RE.search(text) is not None and not astral.isdisjoint(text)


# --------------------------------------------------------------------------- building the list


def _opencc_share() -> Path:
    import opencc

    return Path(opencc.__file__).parent / "clib" / "share" / "opencc"


def _t2s_dictionaries() -> list[str]:
    """The ``.ocd2`` files that the ``t2s`` configuration reads (normalisation + conversion chain)."""
    config = json.loads((_opencc_share() / "t2s.json").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "ocd2" and "file" in node:
                files.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return files


def dictionary_entries() -> Iterator[tuple[str, str]]:
    """(key, first conversion) of every entry of the dictionaries ``t2s`` uses."""
    import opencc

    clib = Path(opencc.__file__).parent / "clib"
    tool = clib / "bin" / "opencc_dict"
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
        p for p in (str(clib / "lib64"), str(clib / "lib"), os.environ.get("LD_LIBRARY_PATH", "")) if p))
    with tempfile.TemporaryDirectory() as tmp:
        for name in _t2s_dictionaries():
            out = Path(tmp) / (name + ".txt")
            subprocess.run([str(tool), "-i", str(_opencc_share() / name), "-o", str(out), "-f", "ocd2", "-t", "text"],
                           check=True, env=env, capture_output=True)
            for line in out.read_text(encoding="utf-8").splitlines():
                key, _, values = line.partition("\t")
                if key:
                    yield key, values.split(" ")[0]


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def build_triggers(entries: list[tuple[str, str]]) -> str:
    """The trigger characters for ``entries`` (sorted, one string)."""
    changing = [(k, v) for k, v in entries if v != k]
    chars = {k for k, _ in changing if len(k) == 1}
    for key, _ in changing:
        if not chars.intersection(key):
            chars.update(ch for ch in key if not _in_gb2312(ch))
    return "".join(sorted(chars))


def write_triggers(path: Path | None = None) -> Path:
    """Rebuild the trigger list from the installed OpenCC and write it (default: the packaged file)."""
    path = path or triggers_file()
    path.write_text(build_triggers(list(dictionary_entries())) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    written = write_triggers()
    print(f"{written}: {len(written.read_text(encoding='utf-8').strip())} characters")
