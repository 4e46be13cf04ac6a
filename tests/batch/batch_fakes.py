"""A fast, deterministic stand-in for :class:`minyi_nlp.dispatch.Dispatcher` (unique module name: no
clash with other test folders' helpers)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from minyi_nlp.dispatch import CategoryScore, DepartmentScore, Suggestion

LABELS = ("交通运输", "劳动和社会保障", "卫生计生", "商贸旅游", "城乡建设", "教育文体", "环境保护")


class FakeDispatcher:
    """Same interface as :class:`Dispatcher` for the batch job; a row's output depends on its text only.

    ``fail_after``: raise :class:`KeyboardInterrupt` on that call (simulates Ctrl-C mid-job);
    a content containing ``BOOM`` makes the call raise :class:`ValueError` (a model bug on one row).
    """

    def __init__(self, version: str = "fake-1", fail_after: int | None = None) -> None:
        self.version = version
        self.fail_after = fail_after
        self.calls = 0

    def suggest_many(self, appeals: Sequence[tuple[str | None, str]], *, explain: bool = True, **_: object):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        if any("BOOM" in content for _, content in appeals):
            raise ValueError("cannot handle BOOM")
        out = []
        for title, content in appeals:
            h = zlib.crc32(f"{title or ''}|{content}".encode())
            order = [LABELS[(h + i) % len(LABELS)] for i in range(len(LABELS))]
            scores = [0.6, 0.25, 0.1, 0.03, 0.01, 0.007, 0.003]
            cats = [CategoryScore(lab, s) for lab, s in zip(order, scores, strict=True)]
            deps = [DepartmentScore(f"{lab}局", "A市", "city", s) for lab, s in zip(order[:2], scores[:2], strict=True)]
            out.append(
                Suggestion(
                    model_version=self.version, categories=cats, departments=deps, appeal_type=None,
                    appeal_type_score=None, due_at=None, urgent=False, needs_review=h % 5 == 0,
                    review_reasons=["low"] if h % 5 == 0 else [], keywords=[], jurisdiction="A市",
                    jurisdiction_level="city",
                )
            )
        return out
