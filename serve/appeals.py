"""Appeals: intake (suggest, find similar earlier appeals, store), and the views the API returns.

Synchronous: the routes call these from worker threads. Every text that is stored is masked
(:func:`serve.suggest.mask`); the caller's contact and the address go only into the encrypted
contact row (:mod:`serve.pii_vault`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from minyi_nlp.data.tasks import compose_text
from minyi_nlp.similar import SimilarIndex, SimilarSettings
from serve import appeal_search
from serve.appeal_store import AppealRecord, AppealStore, NewAppeal
from serve.pii_vault import ContactVault
from serve.plain_reasons import plain_reasons
from serve.routers.decisions import decision_out
from serve.settings import ServeSettings
from serve.similar import (
    Encoded,
    add,
    dense_bytes,
    embed_version,
    encode,
    find_similar,
    from_stored,
    make_index,
    sketch_bytes,
)
from serve.store import NewSuggestion, aware
from serve.suggest import mask

log = logging.getLogger(__name__)

CREATED_FIELDS = ("id", "status", "channel", "external_id", "received_at", "suggestion", "similar")


def to_utc(value: datetime | None) -> datetime | None:
    """An instant in UTC; a naive time is the server's local time."""
    if value is None:
        return None
    return (value if value.tzinfo is not None else value.astimezone()).astimezone(UTC)


def local_naive(value: datetime) -> datetime:
    """The server's local wall time (what the dispatcher's deadline arithmetic works in)."""
    try:
        return value.astimezone().replace(tzinfo=None)
    except OverflowError:  # within a day of year 1 or 9999
        return value.replace(tzinfo=None)


def _due(suggestion: dict[str, Any], received: datetime) -> datetime:
    due = suggestion.get("due_at")
    return to_utc(datetime.fromisoformat(due)) if due else received  # type: ignore[return-value]


def _default_city() -> str:
    from minyi_nlp.routing import find_jurisdiction

    return find_jurisdiction("").name


class AppealService:
    """Owns the similar-appeal index (rebuilt from the stored rows) and the intake path."""

    def __init__(self, store: AppealStore, vault: ContactVault, settings: ServeSettings) -> None:
        self.store = store
        self.vault = vault
        self.settings = settings
        self.index: SimilarIndex | None = None
        self.index_version: str | None = None
        self._lock = threading.Lock()

    # -- the similar-appeal index ---------------------------------------------------------------
    def rebuild_index(self, dispatcher: Any) -> SimilarIndex | None:
        """Add every stored appeal to a new index: its stored rows when the current bundle made them, else
        rows recomputed from the stored masked text (and stored)."""
        version = embed_version(dispatcher)
        index: SimilarIndex | None = None
        recomputed = 0
        for chunk in self.store.iter_vectors():
            texts = [compose_text(r.title, r.content) for r in chunk]
            current = {i for i, r in enumerate(chunk) if r.vector is not None and r.vector_version == version}
            fresh, stale = sorted(current), [i for i in range(len(chunk)) if i not in current]
            groups: list[tuple[list[int], Encoded]] = []
            if fresh:
                groups.append((fresh, from_stored([chunk[i].vector for i in fresh], [chunk[i].sketch for i in fresh],
                                                  [texts[i] for i in fresh])))
            if stale:
                groups.append((stale, self._encode_and_store(dispatcher, [chunk[i] for i in stale],
                                                             [texts[i] for i in stale], version)))
            for part, enc in groups:
                index = index or make_index(enc.dense.shape[1], _default_city())
                add(index, [str(chunk[i].id) for i in part], enc, [aware(chunk[i].received_at) for i in part],
                    [chunk[i].jurisdiction for i in part])
            recomputed += len(stale)
        self.index, self.index_version = index, version
        log.info("similar-appeal index: %d appeals (%d re-encoded with %s)", len(index or ()), recomputed, version)
        return index

    def _encode_and_store(self, dispatcher: Any, rows: Sequence[Any], texts: list[str], version: str) -> Encoded:
        enc = encode(dispatcher, texts)
        size = SimilarSettings().sketch_size
        self.store.set_vectors([(r.id, dense_bytes(enc.dense[i]), sketch_bytes(enc.sparse, i, size))
                                for i, r in enumerate(rows)], version)
        return enc

    def _index_for(self, dispatcher: Any, ndim: int) -> SimilarIndex:
        """The index for this dispatcher's encoder (rebuilt after a reload changed the bundle)."""
        with self._lock:
            if self.index_version != embed_version(dispatcher):
                self.rebuild_index(dispatcher)
            if self.index is None:
                self.index = make_index(ndim, _default_city())
            return self.index

    # -- intake ---------------------------------------------------------------------------------
    def intake(self, dispatcher: Any, body: Any, actor: str, *, explain: bool = True) -> tuple[dict[str, Any], bool]:
        """Store one appeal (or find it again by channel + external_id): (the created view, created)."""
        channel = str(getattr(body.channel, "value", body.channel))
        existing = self.store.find_external(channel, body.external_id)
        if existing is not None:
            return self.created_view(str(existing.id)), False
        now = datetime.now(UTC)
        received = min(to_utc(body.received_at) or now, now)  # a channel's clock ahead of ours: now
        model_content = f"{body.content} {body.address}" if body.address else body.content
        data = dispatcher.suggest_many([(body.title, model_content)], explain=explain,
                                       received_at=local_naive(received))[0].as_dict()
        title, content = mask(body.title), mask(body.content) or ""  # without the address (kept encrypted)
        enc = encode(dispatcher, [compose_text(title, content)])
        index = self._index_for(dispatcher, enc.dense.shape[1])
        place = data.get("jurisdiction")
        hits = find_similar(index, enc, 0, received, place)
        contact = {k: v for k, v in {"name": body.caller.name if body.caller else None,
                                     "phone": body.caller.phone if body.caller else None,
                                     "address": body.address}.items() if v}
        new = NewAppeal(
            suggestion=NewSuggestion(uuid.uuid4(), now, title, content, channel, data),
            channel=channel, external_id=body.external_id, received_at=received, urgent=bool(data.get("urgent")),
            due_at=_due(data, received), jurisdiction=place, similar=[{"id": i, "score": s} for i, s in hits],
            vector=dense_bytes(enc.dense[0]), sketch=sketch_bytes(enc.sparse, 0, index.settings.sketch_size),
            vector_version=self.index_version, contact_token=self.vault.encrypt(contact) if contact else None,
            actor=actor, search_words=appeal_search.index_words([title, content]),
        )
        row, created = self.store.create(new)
        if created:
            add(index, [str(row.id)], enc, [received], [place])
        return self.created_view(str(row.id)), created

    # -- views ----------------------------------------------------------------------------------
    def created_view(self, appeal_id: str) -> dict[str, Any]:
        view = self.detail(appeal_id, with_contact=False)
        return {k: view[k] for k in CREATED_FIELDS}

    def detail(self, appeal_id: str, *, with_contact: bool) -> dict[str, Any]:
        """Everything about one appeal; the contact only when ``with_contact``."""
        rec = self.store.get(appeal_id, with_contact=with_contact)
        a = rec.appeal
        similar_ids = [str(s["id"]) for s in a.similar or ()]
        others = [*similar_ids, *(str(c.id) for c in rec.children)]
        if a.merged_into is not None:
            others.append(str(a.merged_into))
        info = self.store.summaries([str(a.id), *others])
        similar = [{**info[str(s["id"])], "score": s["score"]} for s in a.similar or () if str(s["id"]) in info]
        view = dict(info[str(a.id)])
        view.update(
            external_id=a.external_id, content=rec.suggestion.content,
            suggestion=self.suggestion_view(rec, similar), similar=similar,
            decision=self._decision(rec), parent=info.get(str(a.merged_into)) if a.merged_into else None,
            children=[info[str(c.id)] for c in rec.children if str(c.id) in info],
            history=[{"at": aware(e.at).astimezone(UTC).isoformat(), "actor": e.actor, "action": e.action,
                      "detail": e.detail or {}} for e in rec.events],
            contact=self.vault.decrypt(rec.contact_token) if with_contact and rec.contact_token else None,
        )
        return view

    @staticmethod
    def suggestion_view(rec: AppealRecord, similar: Sequence[dict[str, Any]]) -> dict[str, Any]:
        s = rec.suggestion
        data = dict(s.suggestion)
        routes = [x["route"] for x in similar if x.get("route")]
        words = plain_reasons(data.get("departments") or [], routes)
        data["departments"] = [{**d, "explanation": w} for d, w in zip(data.get("departments") or [], words,
                                                                        strict=True)]
        return {"id": str(s.id), "created_at": aware(s.created_at).astimezone(UTC).isoformat(), **data}

    @staticmethod
    def _decision(rec: AppealRecord) -> dict[str, Any] | None:
        d = rec.decision
        return None if d is None else {**decision_out(d), "note": d.note}
