"""Reasons in words a dispatcher uses, with no model scores in them.

The dispatcher's ``reasons`` are written for engineers ("部门模型: 0.38", "职责清单: 城乡建设 (0.65) → …").
:func:`plain_reasons` turns each route's reasons into plain Chinese, puts first what earlier similar
appeals were dispatched to ("相似诉求曾分拨至 …"), and drops anything that is only a number. The API
keeps ``reasons`` as they were and adds ``explanation``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_DUTY = re.compile(r"^职责清单:\s*(?P<category>.+?)\s*\([\d.]+\)\s*→\s*(?P<department>.+)$")
_MODEL = re.compile(r"^部门模型:")
_HAZARD = re.compile(r"^险情联动:\s*(?P<hazard>.+?)\s*→\s*(?P<department>.+)$")
_PLACE_NAMED = re.compile(r"^管辖地:\s*文中提到\s*(?P<place>.+)$")
_PLACE_DEFAULT = re.compile(r"^管辖地:\s*未提到区县,?\s*默认\s*(?P<place>.+)$")
_SCORE = re.compile(r"\d\.\d|%")


def _category_words(key: str) -> str:
    """``城乡建设/住房管理/物业`` → ``物业`` (the most specific level)."""
    return re.split(r"[/>|]", key)[-1].strip() or key


def plain_reason(reason: str) -> str | None:
    """One reason in plain words, or None when it says nothing a dispatcher can use."""
    if m := _DUTY.match(reason):
        return f"「{_category_words(m['category'])}」类诉求按职责清单由{m['department']}办理"
    if _MODEL.match(reason):
        return "以往同类诉求多分拨至该部门"
    if m := _HAZARD.match(reason):
        return f"紧急险情（{m['hazard']}）由{m['department']}先行处置"
    if m := _PLACE_NAMED.match(reason):
        return f"诉求中提到{m['place']}"
    if m := _PLACE_DEFAULT.match(reason):
        return f"未提到具体区县，按{m['place']}处理"
    return None if _SCORE.search(reason) else reason


def plain_reasons(departments: Sequence[Mapping[str, Any]],
                  similar_routes: Sequence[Mapping[str, Any]] = ()) -> list[list[str]]:
    """Per route: why, in plain Chinese. ``similar_routes`` are the dispatched similar appeals
    (``{"department", "jurisdiction", "received_at"?}``), best first."""
    out = []
    for route in departments:
        lines: list[str] = []
        for s in similar_routes:
            if s.get("department") == route.get("department"):
                where = f"{s.get('jurisdiction') or ''}{s['department']}"
                lines.append(f"相似诉求曾分拨至{where}")
                break
        for reason in route.get("reasons") or ():
            text = plain_reason(str(reason))
            if text and text not in lines:
                lines.append(text)
        out.append(lines)
    return out
