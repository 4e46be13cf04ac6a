"""The import graph: layers import only downward, and no module imports one that imports it back.

Every ``import`` statement counts, also those inside functions (a lazy import is still a dependency).
Layers, top to bottom: faces (CLI, service, batch engines) → dispatch → models → data (incl. the lists)
→ text / base.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("minyi_nlp", "serve")

# longest prefix wins
LAYERS: dict[str, int] = {
    "minyi_nlp.config": 0,
    "minyi_nlp.hashing": 0,
    "minyi_nlp.lazy": 0,
    "minyi_nlp.params": 0,
    "minyi_nlp.progress": 0,
    "minyi_nlp.text": 0,
    "minyi_nlp.data": 1,
    "minyi_nlp.prepare": 1,
    "minyi_nlp.dedup": 1,
    "minyi_nlp.routing": 1,
    "minyi_nlp.models": 2,
    "minyi_nlp.transformer": 2,
    "minyi_nlp.dispatch": 3,
    "minyi_nlp.similar": 3,
    "minyi_nlp.hotspots": 3,
    "minyi_nlp": 4,  # cli, bench, feedback, predict_file: faces
    "minyi_nlp.batch": 4,
    "serve": 4,
}
NAMES = {0: "text/base", 1: "data", 2: "models", 3: "dispatch", 4: "faces"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in out if m.split(".")[0] in PACKAGES}


@cache
def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imp in imports_of(path, name):
            while imp and imp not in modules:  # `from pkg import name` names an attribute, not a module
                imp = imp.rsplit(".", 1)[0] if "." in imp else ""
            if imp and imp != name:
                targets.add(imp)
        edges[name] = targets
    return edges


def test_layers_import_only_downward():
    bad = []
    for src, targets in graph().items():
        for dst in targets:
            if layer(dst) > layer(src):
                bad.append(f"{src} ({NAMES[layer(src)]}) imports {dst} ({NAMES[layer(dst)]})")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_models_never_read_the_lists():
    bad = [f"{src} imports {dst}" for src, targets in graph().items()
           if src == "minyi_nlp.models" or src.startswith("minyi_nlp.models.")  # not minyi_nlp.models_cli (a face)
           for dst in targets if dst.startswith(("minyi_nlp.routing", "minyi_nlp.dispatch"))]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    edges = dict(graph())
    # a package's __init__ re-exporting its own submodules is not a cycle between modules
    edges = {s: {d for d in ds if s != d.rsplit(".", 1)[0]} for s, ds in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    from minyi_nlp.dispatch import Dispatcher\n", encoding="utf-8")
    assert "minyi_nlp.dispatch.Dispatcher" in imports_of(src, "minyi_nlp.models.mod")
    assert layer("minyi_nlp.dispatch.dispatcher") > layer("minyi_nlp.models.heads")
