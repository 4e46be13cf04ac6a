"""How the served model fares against the dispatchers' decisions: figures from stored suggestions and decisions.

* **rank-1 acceptance**: the share of decisions that took the first suggested route;
* **override rate** (no suggested route taken) overall, per suggested category, per suggested department and
  per ISO week;
* **reliability**: the top route's score against whether the dispatcher took it (bins and ECE);
* **drift** against the bundle's training reference (its ``reference.json``): PSI of the top category's
  score, of the top route's score and of the predicted category mix (PSI < 0.1 stable, 0.1–0.25 moderate,
  > 0.25 large, the usual reading);
* **latency**: time from suggestion to decision (p50 / p90 per week), and, given the service's ``/metrics``,
  its request and model-call latency;
* **sustained drop**: the rolling rank-1 acceptance (``window_days``) stays more than ``drop_threshold`` below
  the baseline (the first ``baseline_days`` of the period, or ``MINYI_MONITOR_BASELINE``) for
  ``sustain_days`` days in a row.

Used by ``minyi monitor`` (JSON + PNG report), the service's Prometheus metrics and its supervisor page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EPS = 1e-4


class MonitorSettings(BaseSettings):
    """``MINYI_MONITOR_*``: thresholds of the sustained-drop flag and the drift figures."""

    model_config = SettingsConfigDict(env_prefix="MINYI_MONITOR_", extra="ignore")

    drop_threshold: float = Field(0.10, gt=0, lt=1)  # rank-1 acceptance this far below the baseline …
    sustain_days: int = Field(3, ge=1)  # … for this many days in a row is flagged
    window_days: int = Field(7, ge=1)  # the rolling window of the daily rate
    baseline_days: int = Field(7, ge=1)  # the first days of the period give the baseline …
    baseline: float | None = Field(None, ge=0, le=1)  # … unless a fixed baseline is set
    min_decisions: int = Field(20, ge=1)  # a window with fewer decisions is not judged
    psi_bins: int = Field(10, ge=2)
    psi_alert: float = Field(0.25, gt=0)
    metrics_window_days: int = Field(7, ge=1)  # the service's Prometheus gauges cover this many days
    metrics_ttl_s: float = Field(60.0, ge=0)  # and are recomputed at most this often


# --------------------------------------------------------------------------- drift


def psi(reference: Sequence[float], actual: Sequence[float], bins: int = 10) -> float | None:
    """Population stability index of ``actual`` against ``reference`` over the reference's quantile bins."""
    ref = np.asarray(reference, float)
    act = np.asarray(actual, float)
    ref, act = ref[~np.isnan(ref)], act[~np.isnan(act)]
    if len(ref) < bins or len(act) == 0:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    a = np.bincount(np.searchsorted(edges, act, side="right"), minlength=len(edges) + 1) / len(act)
    return shares_psi(e, a)


def shares_psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.clip(expected, EPS, None), np.clip(actual, EPS, None)
    return round(float(np.sum((a - e) * np.log(a / e))), 4)


def mix_psi(reference: Mapping[str, float], counts: Mapping[str, int]) -> float | None:
    """PSI of a category mix (``counts`` of each label) against reference shares."""
    total = sum(counts.values())
    if not reference or not total:
        return None
    labels = sorted(set(reference) | set(counts))
    return shares_psi(np.array([reference.get(k, 0.0) for k in labels]),
                      np.array([counts.get(k, 0) / total for k in labels]))


# --------------------------------------------------------------------------- decisions


def _rate(mask: pd.Series) -> float | None:
    return round(float(mask.mean()), 4) if len(mask) else None


def overrides_by(decisions: pd.DataFrame, column: str, min_n: int = 1) -> dict[str, dict[str, Any]]:
    """Decisions and override rate per value of ``column`` (biggest groups first)."""
    out: dict[str, dict[str, Any]] = {}
    if decisions.empty:
        return out
    override = decisions["accepted_rank"].isna()
    rank1 = decisions["accepted_rank"].eq(1).fillna(False).astype(bool)  # an override (<NA>) is no rank 1
    for key, idx in decisions.groupby(column, dropna=True).groups.items():
        n = len(idx)
        if n >= min_n:
            out[str(key)] = {"decisions": n, "override_rate": round(float(override.loc[idx].mean()), 4),
                             "rank1_acceptance": round(float(rank1.loc[idx].mean()), 4)}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["decisions"]))


def reliability(decisions: pd.DataFrame, bins: int = 10) -> dict[str, Any]:
    """The top route's score against 'the dispatcher took the first route': bins and ECE."""
    from minyi_nlp.models.metrics import expected_calibration_error, reliability_bins

    rows = decisions[decisions["route_score"].notna()]
    if rows.empty:
        return {"n": 0}
    conf = rows["route_score"].to_numpy(float)
    hit = (rows["accepted_rank"] == 1).fillna(False).to_numpy(bool)
    return {"n": len(rows), "ece": round(expected_calibration_error(conf, hit, bins), 4),
            "mean_score": round(float(conf.mean()), 4), "rank1_acceptance": round(float(hit.mean()), 4),
            "bins": [b for b in reliability_bins(conf, hit, bins) if b["count"]]}


def daily_acceptance(decisions: pd.DataFrame, settings: MonitorSettings, start: datetime,
                     end: datetime) -> pd.DataFrame:
    """Per day: decisions, rank-1 acceptance, and the rolling rate over ``window_days`` (None when the
    window holds fewer than ``min_decisions``)."""
    first, last = (pd.Timestamp(t).tz_convert("UTC").floor("D") for t in (start, end))  # any offset → UTC days
    days = pd.date_range(first, last, freq="D")
    if decisions.empty:
        return pd.DataFrame({"day": days, "decisions": 0, "rank1": 0, "rate": np.nan, "rolling": np.nan})
    day = decisions["decided_at"].dt.floor("D")
    n = day.value_counts().reindex(days, fill_value=0)
    r1 = day[(decisions["accepted_rank"] == 1).fillna(False).to_numpy()].value_counts().reindex(days, fill_value=0)
    w = settings.window_days
    n_roll, r_roll = n.rolling(w, min_periods=1).sum(), r1.rolling(w, min_periods=1).sum()
    rolling = (r_roll / n_roll).where(n_roll >= settings.min_decisions)
    return pd.DataFrame({"day": days, "decisions": n.to_numpy(), "rank1": r1.to_numpy(),
                         "rate": (r1 / n.where(n > 0)).to_numpy(), "rolling": rolling.to_numpy()})


def sustained_drop(daily: pd.DataFrame, settings: MonitorSettings) -> dict[str, Any]:
    """Whether the rolling rank-1 acceptance stayed below baseline − threshold for ``sustain_days`` in a row."""
    if settings.baseline is not None:
        baseline, source = settings.baseline, "MINYI_MONITOR_BASELINE"
    else:
        first = daily.head(settings.baseline_days)
        baseline = float(first["rank1"].sum() / first["decisions"].sum()) if first["decisions"].sum() else None
        source = f"rank-1 acceptance over the first {settings.baseline_days} days of the period"
    out: dict[str, Any] = {"baseline": None if baseline is None else round(baseline, 4), "baseline_source": source,
                           "threshold": settings.drop_threshold, "sustain_days": settings.sustain_days,
                           "window_days": settings.window_days, "flagged": False, "runs": []}
    if baseline is None:
        out["note"] = "no decisions in the baseline days"
        return out
    limit = baseline - settings.drop_threshold
    below = (daily["rolling"] < limit).fillna(False).to_numpy()
    runs, start = [], None
    for i, b in enumerate([*below, False]):
        if b and start is None:
            start = i
        elif not b and start is not None:
            if i - start >= settings.sustain_days:
                runs.append({"from": daily["day"].iloc[start].date().isoformat(),
                             "to": daily["day"].iloc[i - 1].date().isoformat(), "days": i - start,
                             "lowest": round(float(daily["rolling"].iloc[start:i].min()), 4)})
            start = None
    out.update({"limit": round(limit, 4), "runs": runs, "flagged": bool(runs),
                "ongoing": bool(runs) and runs[-1]["to"] == daily["day"].iloc[-1].date().isoformat()})
    return out


def latency(suggestions: pd.DataFrame, decisions: pd.DataFrame) -> dict[str, Any]:
    """Seconds from suggestion to decision: overall and per ISO week (p50, p90)."""
    if decisions.empty:
        return {"decision_seconds": None, "by_week": {}}
    seconds = (decisions["decided_at"] - decisions["created_at"]).dt.total_seconds()

    def q(s: pd.Series) -> dict[str, float]:
        return {"p50": round(float(s.quantile(0.5)), 1), "p90": round(float(s.quantile(0.9)), 1), "n": len(s)}

    weeks = week_of(decisions["decided_at"])
    return {"decision_seconds": q(seconds), "by_week": {w: q(seconds[weeks == w]) for w in sorted(set(weeks))}}


def week_of(times: pd.Series) -> pd.Series:
    iso = times.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)


def service_latency(metrics_text: str) -> dict[str, Any]:
    """p50 / p99 of the service's request latency (``POST /v1/suggestions``) and model calls from its Prometheus
    text (bucket interpolation, as ``histogram_quantile``)."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            if family.name == "minyi_http_request_duration_seconds" and sample.labels.get("route") != "/v1/suggestions":
                continue
            if family.name not in ("minyi_http_request_duration_seconds", "minyi_model_call_duration_seconds"):
                continue
            le = float("inf") if sample.labels["le"] == "+Inf" else float(sample.labels["le"])
            buckets.setdefault(family.name, []).append((le, sample.value))
    out = {}
    for name, pairs in buckets.items():
        merged: dict[float, float] = {}
        for le, v in pairs:
            merged[le] = merged.get(le, 0.0) + v
        b = sorted(merged.items())
        out[name] = {"n": int(b[-1][1]), "p50_ms": _quantile(b, 0.5), "p99_ms": _quantile(b, 0.99)}
    return out


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    total = buckets[-1][1]
    if not total:
        return None
    rank, prev_le, prev_n = q * total, 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if math.isinf(le):
                return round(prev_le * 1000, 2)
            share = (rank - prev_n) / (n - prev_n) if n > prev_n else 0.0
            return round((prev_le + (le - prev_le) * share) * 1000, 2)
        prev_le, prev_n = le, n
    return None


# --------------------------------------------------------------------------- the report


def build_report(suggestions: pd.DataFrame, decisions: pd.DataFrame, reference: Mapping[str, Any] | None, *,
                 since: datetime, until: datetime, settings: MonitorSettings | None = None,
                 metrics_text: str | None = None) -> dict[str, Any]:
    """Every figure of the module docstring for suggestions and decisions in [since, until)."""
    settings = settings or MonitorSettings()
    reference = reference or {}
    d = decisions
    out: dict[str, Any] = {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "suggestions": len(suggestions), "decisions": len(d),
        "model_versions": {str(k): int(v) for k, v in suggestions["model_version"].value_counts().items()}
        if len(suggestions) else {},
        "rank1_acceptance": _rate((d["accepted_rank"] == 1).fillna(False)) if len(d) else None,
        "accepted_any_rank": _rate(d["accepted_rank"].notna()) if len(d) else None,
        "override_rate": _rate(d["accepted_rank"].isna()) if len(d) else None,
        "overrides": {
            "by_category": overrides_by(d, "top_category"),
            "by_department": overrides_by(d, "top_department"),
            "by_week": dict(sorted(overrides_by(d.assign(week=week_of(d["decided_at"])) if len(d) else d,
                                                "week").items())),  # in time order
        },
        "reliability": reliability(d),
        "latency": latency(suggestions, d),
        "settings": settings.model_dump(),
    }
    mix = suggestions["top_category"].value_counts().to_dict() if len(suggestions) else {}
    out["drift"] = {
        "reference": reference.get("data", "no reference in the served bundle"),
        "category_score_psi": psi(reference.get("category_score", []), suggestions.get("category_score", []),
                                  settings.psi_bins) if len(suggestions) else None,
        "route_score_psi": psi(reference.get("route_score", []), suggestions.get("route_score", []),
                               settings.psi_bins) if len(suggestions) else None,
        "category_mix_psi": mix_psi(reference.get("category_mix", {}), mix),
        "category_mix": {"served": {k: round(v / max(1, len(suggestions)), 4) for k, v in mix.items()},
                         "reference": reference.get("category_mix", {})},
        "alert_above": settings.psi_alert,
    }
    out["drift"]["alerts"] = [k for k in ("category_score_psi", "route_score_psi", "category_mix_psi")
                              if (out["drift"][k] or 0) > settings.psi_alert]
    daily = daily_acceptance(d, settings, since, until - timedelta(microseconds=1))
    out["daily"] = [{"day": r.day.date().isoformat(), "decisions": int(r.decisions),
                     "rank1_acceptance": None if pd.isna(r.rate) else round(float(r.rate), 4),
                     "rolling": None if pd.isna(r.rolling) else round(float(r.rolling), 4)}
                    for r in daily.itertuples(index=False)]
    out["sustained_drop"] = sustained_drop(daily, settings)
    if metrics_text:
        out["latency"]["service"] = service_latency(metrics_text)
    return out


def plot_report(report: Mapping[str, Any], path: Path) -> Path:
    """One PNG: daily acceptance with the drop limit, weekly override rate, reliability, category mix."""
    from minyi_nlp.models.plots import display_labels, pyplot, save_figure

    plt = pyplot()
    import matplotlib.dates as mdates
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    daily = pd.DataFrame(report["daily"])
    if len(daily):
        days = pd.to_datetime(daily["day"])
        ax.plot(days, daily["rank1_acceptance"], ".", color="0.6", label="daily")
        ax.plot(days, daily["rolling"], "-", color="C0", label=f"rolling {report['settings']['window_days']} d")
        drop = report["sustained_drop"]
        if drop.get("limit") is not None:
            ax.axhline(drop["baseline"], color="C2", lw=1, ls="--", label="baseline")
            ax.axhline(drop["limit"], color="C3", lw=1, ls=":", label="drop limit")
        for run in drop.get("runs", []):
            ax.axvspan(pd.Timestamp(run["from"]), pd.Timestamp(run["to"]) + pd.Timedelta(days=1), color="C3",
                       alpha=0.12)
        ax.legend(fontsize=8, loc="lower left")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)  # fig.autofmt_xdate would hide the top row's
    ax.set_ylim(0, 1)
    ax.set_title("Rank-1 acceptance" + ("  (sustained drop flagged)" if report["sustained_drop"]["flagged"] else ""))

    ax = axes[0][1]
    weeks = report["overrides"]["by_week"]
    if weeks:
        names = sorted(weeks)
        ax.bar(range(len(names)), [weeks[w]["override_rate"] for w in names], color="C1")
        ax.set_xticks(range(len(names)), names, rotation=30, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(f"Override rate per week (overall {report['override_rate']})")

    ax = axes[1][0]
    rel = report["reliability"]
    ax.plot([0, 1], [0, 1], color="0.7", lw=1)
    if rel.get("bins"):
        ax.plot([b["confidence"] for b in rel["bins"]], [b["accuracy"] for b in rel["bins"]], "o-", color="C0")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top route score")
    ax.set_ylabel("share taken as rank 1")
    ax.set_title(f"Reliability of served scores (ECE {rel.get('ece')}, n={rel.get('n')})")

    ax = axes[1][1]
    mix = report["drift"]["category_mix"]
    labels = sorted(set(mix["served"]) | set(mix["reference"]))
    if labels:
        y = np.arange(len(labels))
        ax.barh(y - 0.2, [mix["reference"].get(k, 0) for k in labels], 0.4, label="training reference")
        ax.barh(y + 0.2, [mix["served"].get(k, 0) for k in labels], 0.4, label="served")
        ax.set_yticks(y, display_labels(labels), fontsize=8)
        ax.legend(fontsize=8)
    drift = report["drift"]
    ax.set_title(f"Category mix: PSI {drift['category_mix_psi']}  (scores PSI {drift['category_score_psi']})")
    return save_figure(fig, path)


def write_report(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """``monitor.json`` and ``monitor.png`` in ``out_dir``."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "monitor.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return [path, plot_report(report, out_dir / "monitor.png")]


def report_from_store(since: datetime, until: datetime, *, database_url: Any = None,
                      reference: Mapping[str, Any] | None = None, settings: MonitorSettings | None = None,
                      metrics_text: str | None = None) -> dict[str, Any]:
    """:func:`build_report` on the service database's suggestions and decisions of [since, until)
    (``database_url``: a URL, None for the default, or an open engine)."""
    from minyi_nlp.decisions import decision_frame, suggestion_frame

    suggestions = suggestion_frame(database_url, since=since, until=until)
    decisions = decision_frame(database_url, since=since, until=until)
    return build_report(suggestions, decisions, reference, since=since, until=until, settings=settings,
                        metrics_text=metrics_text)
