"""POST /v1/admin/reload: a new model is built beside the old one and swapped in; no request is lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from serve_helpers import AS_ADMIN, AS_DISPATCHER, make_stub_dispatcher


def version(client) -> str:
    return client.get("/readyz").json()["model_version"]


def test_reload_swaps_the_model_without_dropping_requests(make_client, stub_dispatcher):
    loading = threading.Event()
    release = threading.Event()

    def slow_loader():
        loading.set()
        assert release.wait(30)
        return make_stub_dispatcher(version="stub-category-2")

    client = make_client(stub_dispatcher, loader=slow_loader)
    assert version(client).startswith("stub-category-1")
    with ThreadPoolExecutor(9) as pool:
        reload = pool.submit(client.post, "/v1/admin/reload", headers=AS_ADMIN)
        assert loading.wait(30)
        during = [pool.submit(client.post, "/v1/suggestions", json={"content": f"学校 {i}"}, headers=AS_DISPATCHER)
                  for i in range(24)]
        old = [f.result() for f in during]  # answered by the old model while the new one loads
        release.set()
        r = reload.result()
    assert r.status_code == 200, r.text
    assert r.json()["previous_version"].startswith("stub-category-1")
    assert r.json()["model_version"].startswith("stub-category-2")
    assert all(x.status_code == 201 and x.json()["model_version"].startswith("stub-category-1") for x in old)
    new = client.post("/v1/suggestions", json={"content": "学校"}, headers=AS_DISPATCHER).json()
    assert new["model_version"].startswith("stub-category-2")
    assert 'minyi_model_reloads_total{result="ok"} 1.0' in client.get("/metrics").text


def test_failed_reload_keeps_the_old_model(make_client, stub_dispatcher):
    def broken():
        raise RuntimeError("corrupt model file")

    client = make_client(stub_dispatcher, loader=broken)
    r = client.post("/v1/admin/reload", headers=AS_ADMIN)
    assert r.status_code == 503 and "corrupt model file" in r.json()["detail"]
    assert version(client).startswith("stub-category-1")
    assert client.post("/v1/suggestions", json={"content": "学校"}, headers=AS_DISPATCHER).status_code == 201


def test_reload_loads_a_model_when_none_was_there(make_client):
    calls = []

    def loader():
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("not trained yet")
        return make_stub_dispatcher()

    client = make_client(None, loader=loader)
    assert client.get("/readyz").status_code == 503
    assert client.post("/v1/admin/reload", headers=AS_ADMIN).status_code == 200
    assert client.get("/readyz").status_code == 200


def test_loaded_model_is_frozen_out_of_gc_and_a_swapped_out_one_is_collected(make_client):
    """With ``serve_gc_freeze`` the model loaded at start-up sits in the permanent generation (request-time
    collections skip it); after a reload the previous model — here one held in a reference cycle, which only
    the cyclic collector can free — is unfrozen and collected, not kept for ever."""
    import gc
    import weakref

    class Cyclic:
        def __init__(self, version: str) -> None:
            self.inner = make_stub_dispatcher(version=version)
            self.me = self  # a cycle: reference counting alone never frees it
            self.version = self.inner.version

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    first = Cyclic("stub-category-1")
    gone = weakref.ref(first)
    try:
        client = make_client(first, loader=lambda: make_stub_dispatcher(version="stub-category-2"),
                             serve_gc_freeze=True)
        assert gc.get_freeze_count() > 0
        assert not any(o is first for o in gc.get_objects())  # frozen: outside every generation
        del first
        assert client.post("/v1/admin/reload", headers=AS_ADMIN).status_code == 200
        assert gone() is None
        assert version(client).startswith("stub-category-2")
    finally:
        gc.unfreeze()  # the rest of the test run collects normally


def test_the_default_loader_reads_every_list_again(tmp_path, monkeypatch):
    """An administrator edits hazards.yaml and gazetteer.yaml, then reloads: the new dispatcher reads the new
    files (before, only the four routing lists were read again; places and hazards stayed cached)."""
    from lists_helpers import copy_lists, edit_yaml

    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.routing.hazards import load_hazards
    from minyi_nlp.routing.jurisdiction import load_gazetteer
    from minyi_nlp.routing.list_check import clear_caches
    from minyi_nlp.routing.lists import get_lists_settings, load_lists
    from serve.main import default_loader

    folder = copy_lists(tmp_path)
    monkeypatch.setenv("MINYI_LISTS_DIR", str(folder))
    get_lists_settings.cache_clear()
    monkeypatch.setattr(Dispatcher, "load", classmethod(
        lambda cls, bundle_dir=None: (load_lists().version, load_hazards().version, load_gazetteer().version)))
    try:
        loader = default_loader(None)
        first = loader()
        for name in ("hazards.yaml", "gazetteer.yaml", "sla.yaml"):
            edit_yaml(folder, name, lambda data: data.update(version="9999.1"))
        lists, hazards, gazetteer = loader()
        assert first[1] != "9999.1" and (hazards, gazetteer) == ("9999.1", "9999.1")
        assert lists.endswith("sla@9999.1")
    finally:
        get_lists_settings.cache_clear()
        clear_caches()
