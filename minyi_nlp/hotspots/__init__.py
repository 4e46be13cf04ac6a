"""Hot issues (热点问题): group the appeals that report the same event, score the groups, describe them.

``find_hotspots(InputReader(path).frames())`` → :class:`HotspotResult`; ``write_reports`` writes it as
CSV, XLSX, JSON and PNG. Submodules are imported on first attribute access (no import-time work).
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

_EXPORTS = {
    "HotspotParams": "params",
    "Hotspot": "pipeline",
    "HotspotResult": "pipeline",
    "find_hotspots": "pipeline",
    "InputReader": "inputs",
    "Columns": "inputs",
    "write_reports": "report",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
