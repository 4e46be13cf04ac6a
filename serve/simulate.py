"""A simulated stretch of service use: suggestions and dispatcher decisions written into the service database
with past timestamps, for demonstrating and testing ``minyi monitor`` (never for training).

Each day, ``per_day`` appeals are drawn from ``appeals`` (text and the department a dispatcher would choose),
suggested by the given dispatcher, stored masked as the service stores them, and decided: the dispatcher
takes the suggested route holding the right department (its rank), or overrides to it. From ``shift_day``
on, a share ``shift_share`` of the appeals comes from ``shifted`` instead (a new kind of appeal), which is
how a sustained drop and drift show up.

``python -m serve.simulate --database-url URL`` fills a database from the real served bundle: the held-out
rows of the department head, and from day 20 elevator-fault appeals that dispatchers send to 市场监督管理局.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

Appeal = tuple[str, str]  # (content, the department a dispatcher chooses)

ELEVATOR_PLACES = ["A3区", "A5区", "A7县", "A2区", "A1区洋湖街道", "A4区"]
ELEVATOR_FAULTS = ["电梯经常故障停运", "电梯困人", "电梯年检过期仍在运行", "电梯运行时异响抖动", "电梯突然下坠",
                   "电梯门关不上", "电梯按键失灵", "电梯维保单位长期不来保养", "电梯里的应急电话打不通"]
ELEVATOR_WHERE = ["小区", "安置小区", "商住楼", "老旧小区加装的", "公租房"]


def elevator_appeals() -> list[Appeal]:
    """Elevator faults: special-equipment safety, decided to 市场监督管理局."""
    return [(f"{place}某{where}{fault}，存在安全隐患，请相关部门检查处理", "市场监督管理局")
            for place in ELEVATOR_PLACES for where in ELEVATOR_WHERE for fault in ELEVATOR_FAULTS]


@dataclass(frozen=True)
class Plan:
    start: datetime
    days: int = 30
    per_day: int = 40
    shift_day: int = 20
    shift_share: float = 0.4
    seed: int = 0


def simulate(engine: Any, dispatcher: Any, appeals: Sequence[Appeal], plan: Plan,
             shifted: Sequence[Appeal] = ()) -> dict[str, int]:
    """Write the plan's suggestions and decisions into the service database at ``engine``; returns counts."""
    from sqlalchemy import insert
    from sqlalchemy.orm import sessionmaker

    from serve.db import DecisionRow
    from serve.store import NewSuggestion, Store
    from serve.suggest import aware_due_at, mask

    rng = np.random.default_rng(plan.seed)
    store = Store(engine)
    counts = {"suggestions": 0, "overrides": 0, "rank1": 0}
    for day in range(plan.days):
        share = plan.shift_share if shifted and day >= plan.shift_day else 0.0
        picks = [shifted[rng.integers(len(shifted))] if rng.random() < share else appeals[rng.integers(len(appeals))]
                 for _ in range(plan.per_day)]
        made = dispatcher.suggest_many([(None, text) for text, _ in picks], explain=False)
        items, decisions = [], []
        for (text, department), s in zip(picks, made, strict=True):
            created = plan.start + timedelta(days=day, seconds=float(rng.uniform(8 * 3600, 18 * 3600)))
            item = NewSuggestion(uuid.uuid4(), created, None, mask(text) or "", "12345热线", aware_due_at(s.as_dict()))
            items.append(item)
            ranks = [i for i, r in enumerate(s.departments, 1) if r.department == department]
            top = s.departments[0].jurisdiction if s.departments else None
            rank = ranks[0] if ranks else None
            counts["overrides"] += rank is None
            counts["rank1"] += rank == 1
            decisions.append({"suggestion_id": item.id, "department": department,
                              "jurisdiction": s.departments[rank - 1].jurisdiction if rank else top,
                              "dispatcher": f"调度员{rng.integers(1, 9)}", "accepted_rank": rank,
                              "decided_at": created + timedelta(minutes=float(rng.lognormal(2.5, 0.8)))})
        store.add_suggestions(items)
        with sessionmaker(engine).begin() as session:
            session.execute(insert(DecisionRow), decisions)
        counts["suggestions"] += len(items)
    return counts


def department_appeals() -> list[Appeal]:
    """The held-out rows of the department head: text and its department type."""
    from minyi_nlp.data.tasks import load_task
    from minyi_nlp.params import load_params

    frame = load_task("department", load_params()).part("test")
    return list(zip(frame["text"].astype(str), frame["label"].astype(str), strict=True))


def main(argv: Sequence[str] | None = None) -> None:
    from serve.db import make_engine, migrate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a new SQLite file or PostgreSQL database")
    parser.add_argument("--start", default="2026-11-01", help="first simulated day (UTC)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument("--shift-day", type=int, default=20)
    parser.add_argument("--shift-share", type=float, default=0.4)
    args = parser.parse_args(argv)
    from minyi_nlp.dispatch import Dispatcher

    engine = make_engine(args.database_url)
    migrate(engine)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    plan = Plan(start, args.days, args.per_day, args.shift_day, args.shift_share)
    counts = simulate(engine, Dispatcher.load(), department_appeals(), plan, elevator_appeals())
    print(counts)


if __name__ == "__main__":
    main()
