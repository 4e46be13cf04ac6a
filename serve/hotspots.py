"""Hot issues (热点问题) over the service's stored appeals, kept current as appeals arrive.

**Grouping is incremental.** Each appeal already carries, from its intake, the earlier appeals of the same
matter that the similar-appeal index found (``appeals.similar``: 30-day window, place and landmark penalty), and a
dispatcher's merge (并单) says the same of two appeals. The board joins these links, strongest first, in a
:class:`~minyi_nlp.hotspots.linking.SiteLinker` (single linkage that never joins two groups naming different
sites, as ``minyi hotspots`` does). It catches up by ``seq``: a request first reads only the appeals and merge
events stored since the one before (and the last 200 appeals again: on PostgreSQL an intake may commit after one
with a later ``seq``), so an appeal joins its group once, and nothing is re-clustered. Several
service processes each catch up from the same database. An undone merge (which a union-find cannot undo) marks
the board for one rebuild from the database, as do members older than twice ``max_days``.

**Ranking** (:meth:`HotspotBoard.ranking`): the groups of the appeals received in the last ``days``, scored with
the heat index of :mod:`minyi_nlp.hotspots.heat` (the service knows no likes, and a caller only through the
encrypted contact, so every appeal counts as its own citizen; growth compares the last 7 days with the 7 before,
also when ``days`` is shorter), groups of at least two appeals, described as the CLI describes them. A ranking is
reused while no appeal arrived, for at most ``cache_s`` seconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from minyi_nlp.hotspots.describe import clean_title, describe_group, group_place
from minyi_nlp.hotspots.heat import group_table
from minyi_nlp.hotspots.linking import SiteLinker
from minyi_nlp.hotspots.params import HotspotParams
from minyi_nlp.hotspots.pipeline import Hotspot
from minyi_nlp.hotspots.places import find_sites, site_signature
from serve.db import SuggestionRow
from serve.db_appeals import AppealEventRow, AppealRow
from serve.store import aware

log = logging.getLogger(__name__)

MERGE_SCORE = 1.0  # a dispatcher's merge is the strongest link
MAX_DAYS = 90  # the longest window a ranking may ask for: the board keeps the appeals of these days
_CHUNK = 5_000
_LATE = 200


@dataclass
class _Members:
    """What the board keeps per appeal (by position): id, time received (s), masked title and text head, and how
    many links it has (the group's most linked member gives the description its title)."""

    ids: list[str] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    degree: list[int] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    sites: dict[int, frozenset[str]] = field(default_factory=dict)  # site signatures, computed once when linked

    def signature(self, k: int) -> frozenset[str]:
        if k not in self.sites:
            self.sites[k] = site_signature(find_sites(self.titles[k]) or find_sites(self.heads[k]))
        return self.sites[k]


class HotspotBoard:
    """The hot issues of the stored appeals; thread-safe (routes call it from worker threads)."""

    def __init__(self, engine: Engine | None, params: HotspotParams | None = None, *, max_days: int = MAX_DAYS,
                 cache_s: float = 30.0) -> None:
        self.engine = engine
        self.params = params or HotspotParams()
        self.max_days = max_days
        self.cache_s = cache_s
        self.rebuilds = 0  # full reads of the database (start, undone merge, old members)
        self.version = 0  # changes whenever an appeal or a link is added
        self._lock = threading.RLock()
        self._stale = True
        self._reset()

    def _reset(self) -> None:
        self.members = _Members()
        self.linker = SiteLinker(0)
        self.last_seq = 0
        self.last_event = 0
        self._cache: dict[tuple[int, int], tuple[int, float, dict[str, Any]]] = {}

    # -- keeping up with the database -----------------------------------------------------------
    def refresh(self, now: datetime | None = None) -> int:
        """Read what was stored since the last call (everything after a reset); the number of new appeals."""
        now = now or datetime.now(UTC)
        with self._lock:
            return self._catch_up(now)

    def _catch_up(self, now: datetime) -> int:
        if self.engine is None:  # fed by add() only
            return 0
        oldest = now - timedelta(days=self.max_days)
        if self.members.times and self.members.times[0] < (now - timedelta(days=2 * self.max_days)).timestamp():
            self._stale = True  # positions are in seq order; the first is old enough to warrant a rebuild
        rebuilding = self._stale
        if rebuilding:
            self._reset()
            with self.engine.connect() as conn:
                self.last_event = conn.execute(select(func.coalesce(func.max(AppealEventRow.id), 0))).scalar_one()
            self._stale = False
            self.rebuilds += 1
        added = 0
        # the last _LATE appeals are read again: on PostgreSQL an intake may commit after one with a later seq
        cursor = max(0, self.last_seq - _LATE)
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(AppealRow.seq, AppealRow.id, AppealRow.received_at, AppealRow.similar,
                           AppealRow.merged_into, SuggestionRow.title, SuggestionRow.content)
                    .join(SuggestionRow, SuggestionRow.id == AppealRow.id)
                    .where(AppealRow.seq > cursor, AppealRow.received_at >= oldest)
                    .order_by(AppealRow.seq).limit(_CHUNK)).all()
            if not rows:
                break
            new = [r for r in rows if str(r.id) not in self.members.position]
            if new:
                self._add(new, rebuilding)
            cursor = rows[-1].seq
            self.last_seq = max(self.last_seq, cursor)
            added += len(new)
        if not rebuilding:
            self._merge_events()
            if self._stale:  # a merge was undone
                return self._catch_up(now)
        if rebuilding:
            log.info("hot issues: %d appeals of the last %d days read", len(self.members.ids), self.max_days)
        return added

    def add(self, rows: list[Any], *, merges: bool = True) -> None:
        """Add appeals in the order received (rows with ``id, received_at, similar, merged_into, title, content``)
        and join them with the earlier ones they name in ``similar`` (and ``merged_into`` when ``merges``)."""
        with self._lock:
            self._add(rows, merges)

    def _add(self, rows: list[Any], merges: bool) -> None:
        m, body = self.members, self.params.body_chars
        for r in rows:
            content = r.content or ""
            title = clean_title(r.title or "", content)
            m.position[str(r.id)] = len(m.ids)
            m.ids.append(str(r.id))
            m.times.append(int(aware(r.received_at).timestamp()))
            m.titles.append(title)
            m.heads.append(f"{title}。{content[:body]}")
            m.degree.append(0)
        self.linker.grow(len(m.ids))
        links = [(str(r.id), str(s["id"]), float(s["score"])) for r in rows for s in r.similar or ()]
        if merges:  # at a rebuild the current merges come from the rows; later ones from the events
            links += [(str(r.id), str(r.merged_into), MERGE_SCORE) for r in rows if r.merged_into is not None]
        self._link(links)

    def _merge_events(self) -> None:
        with self.engine.connect() as conn:
            events = conn.execute(
                select(AppealEventRow.id, AppealEventRow.appeal_id, AppealEventRow.action, AppealEventRow.detail)
                .where(AppealEventRow.id > self.last_event, AppealEventRow.action.in_(("merged", "unmerged")))
                .order_by(AppealEventRow.id)).all()
        if not events:
            return
        self.last_event = events[-1].id
        if any(e.action == "unmerged" for e in events):
            self._stale = True  # read again at the next request
            return
        self._link([(str(e.appeal_id), str((e.detail or {}).get("into")), MERGE_SCORE) for e in events])

    def _link(self, links: list[tuple[str, str, float]]) -> None:
        m = self.members
        known = [(m.position[a], m.position[b], s) for a, b, s in links if a in m.position and b in m.position]
        if not known:
            self.version += 1
            return
        i, j, score = (np.array(x) for x in zip(*known, strict=True))
        sigs = {k: m.signature(k) for k in {*i.tolist(), *j.tolist()}} if self.params.sites else {}
        self.linker.add(i.astype(np.int64), j.astype(np.int64), score.astype(np.float64), sigs)
        for k in (*i.tolist(), *j.tolist()):
            m.degree[k] += 1
        self.version += 1

    def invalidate(self) -> None:
        """Read everything again at the next request."""
        with self._lock:
            self._stale = True

    # -- the ranking ----------------------------------------------------------------------------
    def ranking(self, days: int = 7, top: int = 10, now: datetime | None = None) -> dict[str, Any]:
        """The ``top`` hot issues among the appeals received in the ``days`` up to ``now``:
        ``{"as_of", "days", "appeals", "groups", "hotspots": [{rank, heat, place, description, start, end, n,
        ids, title, people}]}``."""
        now = now or datetime.now(UTC)
        with self._lock:
            self._catch_up(now)
            cached = self._cache.get((days, top))
            if cached and cached[0] == self.version and 0 <= now.timestamp() - cached[1] <= self.cache_s:
                return cached[2]
            out = self.rank(days, top, now)
            self._cache[(days, top)] = (self.version, now.timestamp(), out)
            return out

    def rank(self, days: int, top: int, now: datetime) -> dict[str, Any]:
        """The ranking of what the board holds now (no catching up, no cache)."""
        with self._lock:
            return self._rank(days, top, now)

    def _rank(self, days: int, top: int, now: datetime) -> dict[str, Any]:
        m, p = self.members, self.params
        n = len(m.ids)
        times = np.fromiter(m.times, np.int64, n)
        labels = self.linker.labels()[:n]
        ref = int(now.timestamp())
        window = np.flatnonzero((times >= ref - days * 86400) & (times <= ref))
        empty = {"as_of": now.isoformat(timespec="seconds"), "days": days, "appeals": int(len(window)),
                 "groups": 0, "hotspots": []}
        if not len(window):
            return empty
        table = self._table(window, labels, times, ref)
        # growth compares the last growth_days with those before, also when the window is shorter
        before = np.flatnonzero((times >= ref - 2 * p.growth_days * 86400) & (times <= ref))
        growth = self._table(before, labels, times, ref).set_index("group")["growth"]
        table["growth"] = table["group"].map(growth).fillna(1.0).to_numpy()
        table["heat"] = table["support"] * table["recency"] * table["burst"] * table["growth"]
        table = table[table["n"] >= 2].sort_values(["heat", "n", "group"], ascending=[False, False, True],
                                                   kind="stable")
        hotspots = []
        for rank, (_, row) in enumerate(table.head(top).iterrows(), start=1):
            members = window[labels[window] == row["group"]]
            members = members[np.argsort(times[members], kind="stable")]
            hotspots.append(self._describe(rank, row, members))
        return {**empty, "groups": int(len(table)),
                "hotspots": [{**h.contract(), "title": h.title, "people": h.people} for h in hotspots]}

    def _table(self, rows: np.ndarray, labels: np.ndarray, times: np.ndarray, ref: int) -> pd.DataFrame:
        zeros = np.zeros(len(rows), np.int64)
        return group_table(labels[rows], times[rows], rows.astype(np.int64), zeros, zeros, self.params, reference=ref)

    def _describe(self, rank: int, row: pd.Series, members: np.ndarray) -> Hotspot:
        m = self.members
        rep = max(members.tolist(), key=lambda k: m.degree[k])  # the most linked; the earliest on ties
        titles = [m.titles[k] for k in members]
        place, people = group_place(titles, [m.heads[k] for k in members])
        start, end = _local(row["start"]), _local(row["end"])
        size = int(row["n"])
        return Hotspot(
            rank=rank, heat=float(row["heat"]), place=place, people=people, title=m.titles[rep],
            description=describe_group(title=m.titles[rep], place=place, people=people, n=size, citizens=size,
                                       likes=0, start=start, end=end),
            start=start, end=end, n=size, citizens=size, likes=0, dislikes=0, span_days=float(row["span_days"]),
            support=float(row["support"]), recency=float(row["recency"]), burst=float(row["burst"]),
            growth=float(row["growth"]), ids=[m.ids[k] for k in members],
            times=[_local(m.times[k]) for k in members], member_titles=titles,
        )


def _local(seconds: float) -> datetime | None:
    """Epoch seconds as an aware time in the server's zone (the day a supervisor reads in the description)."""
    if seconds is None or np.isnan(seconds):
        return None
    return datetime.fromtimestamp(float(seconds), UTC).astimezone()

