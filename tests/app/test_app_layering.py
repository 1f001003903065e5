"""The app's layers, read from its source with `ast`: the jobs (app/jobs), the state and the theory helpers
import no Qt, directly or through another app module; and no two app modules import each other in a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
QT = ("PySide6", "pyqtgraph", "shiboken6")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in APP.rglob("*.py")}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> tuple[set[str], set[str]]:
    """(app modules, outside top-level packages) that module `name` imports when it runs (imports under
    `if TYPE_CHECKING:` excluded)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    internal, external = set(), set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                (internal if alias.name.split(".")[0] == "app" else external).add(
                    alias.name if alias.name.split(".")[0] == "app" else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "app":
                external.add(target.split(".")[0])
                return
            for alias in node.names:   # `from . import x` imports the module app.….x
                sub = f"{target}.{alias.name}"
                internal.add(sub if sub in MODULES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in internal if m in MODULES and m != name}, external


def _reachable(start: str) -> set[str]:
    """`start` and every app module it imports, directly or not (a module's packages run first)."""
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parents = [".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)]
        todo += [p for p in parents if p in MODULES] + sorted(_imports(m)[0])
    return seen


def test_jobs_state_and_theory_import_no_qt():
    roots = [m for m in MODULES if m == "app.jobs" or m.startswith("app.jobs.")] + ["app.state", "app.theory"]
    assert len(roots) >= 8, roots   # the jobs package, one module per view, progress, state, theory
    for root in roots:
        for m in _reachable(root):
            qt = _imports(m)[1] & set(QT)
            via = "" if m == root else f" through {m}"
            assert not qt, f"{root} imports {', '.join(sorted(qt))}{via}"


def test_app_modules_import_no_cycle():
    graph = {m: _imports(m)[0] for m in MODULES}
    state: dict[str, int] = {}   # 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = path[path.index(n):] + [m, n]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_the_checker_sees_imports():
    """The reader finds what is there: a Qt view imports PySide6 and, through app modules, its job."""
    assert "PySide6" in _imports("app.views.base")[1]
    assert "app.jobs.outputs" in _reachable("app.views.outputs_view")
    assert "app.views.base" in _imports("app.views.outputs_view")[0]
