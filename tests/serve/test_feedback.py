"""minyi_nlp.feedback: the category a decision implies, and feedback_rows from the service database."""

from __future__ import annotations

from serve_helpers import AS_DISPATCHER

from minyi_nlp.feedback import feedback_rows, implied_category
from minyi_nlp.routing import load_lists


def test_implied_category():
    lists = load_lists()
    cats = [{"label": "交通运输", "score": 0.7}, {"label": "教育文体", "score": 0.2},
            {"label": "城乡建设", "score": 0.1}]
    assert implied_category(cats, "教育局", lists) == "教育文体"  # only 教育文体 lists 教育局
    assert implied_category(cats, "交通运输局", lists) == "交通运输"
    assert implied_category(cats, "没有这个部门", lists) is None
    even = [{"label": "城乡建设", "score": 0.5}, {"label": "环境保护", "score": 0.5}]
    assert implied_category(even, "城市管理和行政执法局", lists, min_share=0.99) is None


def test_feedback_rows_from_the_service_database(client, database_url):
    def suggest(content):
        return client.post("/v1/suggestions", json={"content": content}, headers=AS_DISPATCHER).json()["id"]

    a, b, c = suggest("公交晚点，电话13812345678"), suggest("学校收费"), suggest("物业")
    r = client.post(f"/v1/suggestions/{c}/decision", json={"dispatcher": "x", "department": "某个未知单位"},
                    headers=AS_DISPATCHER)
    assert r.status_code == 422 and r.json()["message"].startswith("department:")  # never stored nor exported
    for sid, body in ((a, {"department": "教育局"}), (b, {"accepted_rank": 1}), (c, {"department": "市人民政府"})):
        r = client.post(f"/v1/suggestions/{sid}/decision", json={"dispatcher": "x", **body}, headers=AS_DISPATCHER)
        assert r.status_code == 201
    frame = feedback_rows(database_url)
    assert list(frame.columns) == ["text", "label"]
    assert frame["label"].tolist() == ["教育文体", "教育文体"]  # a generic office implies no category
    assert "13812345678" not in " ".join(frame["text"]) and "<PHONE>" in frame["text"].iloc[0]


def test_feedback_rows_without_a_database(tmp_path):
    frame = feedback_rows(f"sqlite:///{tmp_path / 'missing.db'}")
    assert len(frame) == 0 and list(frame.columns) == ["text", "label"]
    assert not (tmp_path / "missing.db").exists()
