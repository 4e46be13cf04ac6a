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
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from minyi_nlp.data.tasks import compose_text
from serve import appeal_search
from serve.appeal_store import AppealRecord, AppealStore, NewAppeal
from serve.pii_vault import ContactVault
from serve.plain_reasons import plain_reasons
from serve.routers.decisions import decision_out
from serve.settings import ServeSettings
from serve.similar import ExactIndex, embed, embed_version, find_similar, from_bytes, to_bytes
from serve.store import NewSuggestion, aware
from serve.suggest import mask

log = logging.getLogger(__name__)

CREATED_FIELDS = ("id", "status", "channel", "external_id", "received_at", "suggestion", "similar")
EMBED_CHUNK = 256


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
    """Owns the similar-appeal index (rebuilt from the stored vectors) and the intake path."""

    def __init__(self, store: AppealStore, vault: ContactVault, settings: ServeSettings) -> None:
        self.store = store
        self.vault = vault
        self.settings = settings
        self.index: ExactIndex | None = None
        self._lock = threading.Lock()

    # -- the similar-appeal index ---------------------------------------------------------------
    def _new_index(self, version: str) -> ExactIndex:
        return ExactIndex(window=timedelta(days=self.settings.similar_window_days),
                          min_score=self.settings.similar_min_score, default_city=_default_city(), version=version)

    def rebuild_index(self, dispatcher: Any) -> ExactIndex:
        """Load every stored vector made by the current encoder; recompute (from the masked text) and
        store those made by another or by none."""
        version = embed_version(dispatcher)
        index = self._new_index(version)
        recomputed = 0
        for chunk in self.store.iter_vectors():
            ids = [r[0] for r in chunk]
            stale = [i for i, r in enumerate(chunk) if r[3] is None or r[4] != version]
            vectors: list[Any] = [None if r[3] is None or r[4] != version else from_bytes(r[3]) for r in chunk]
            for start in range(0, len(stale), EMBED_CHUNK):
                part = stale[start : start + EMBED_CHUNK]
                fresh = embed(dispatcher, [compose_text(chunk[i][5], chunk[i][6]) for i in part])
                self.store.set_vectors([(ids[i], to_bytes(v)) for i, v in zip(part, fresh, strict=True)], version)
                for i, v in zip(part, fresh, strict=True):
                    vectors[i] = v
            recomputed += len(stale)
            if chunk:
                index.add_many([str(i) for i in ids], np.stack(vectors), [aware(r[1]) for r in chunk],
                               [r[2] for r in chunk])
        self.index = index
        log.info("similar-appeal index: %d appeals (%d vectors recomputed with %s)", len(index), recomputed, version)
        return index

    def _index_for(self, dispatcher: Any) -> ExactIndex:
        with self._lock:
            if self.index is None or self.index.version != embed_version(dispatcher):
                self.rebuild_index(dispatcher)
            assert self.index is not None
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
        index = self._index_for(dispatcher)
        vector = embed(dispatcher, [compose_text(title, content)])[0]
        place = data.get("jurisdiction")
        hits = find_similar(index, vector, received, place, self.settings.similar_top_k)
        contact = {k: v for k, v in {"name": body.caller.name if body.caller else None,
                                     "phone": body.caller.phone if body.caller else None,
                                     "address": body.address}.items() if v}
        new = NewAppeal(
            suggestion=NewSuggestion(uuid.uuid4(), now, title, content, channel, data),
            channel=channel, external_id=body.external_id, received_at=received, urgent=bool(data.get("urgent")),
            due_at=_due(data, received), jurisdiction=place, similar=[{"id": i, "score": s} for i, s in hits],
            vector=to_bytes(vector), vector_version=index.version,
            contact_token=self.vault.encrypt(contact) if contact else None, actor=actor,
            search_words=appeal_search.index_words([title, content]),
        )
        row, created = self.store.create(new)
        if created:
            top = (data.get("departments") or [{}])[0]
            index.add(str(row.id), vector, received, place, top.get("department"))
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
