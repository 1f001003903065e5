"""Import layering of nnqft_engine, from the source (ast, function-level imports included), not from runtime.

Edges: `import a.b` and `from a.b import c` import module a.b; `from a import b` imports the submodule a.b when
it exists, else the package a (its __init__). Importing a submodule is not counted as importing its parent
package (Python runs the parent's __init__ first, but that is not a dependency the module chose).
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = "nnqft_engine"
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "app")


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted((ROOT / PKG).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: pathlib.Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the module."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in MODULES else target, node.lineno))
    return found


def _graph() -> dict[str, dict[str, int]]:
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {}
        for target, line in _imports(name, path):
            if target in MODULES and target != name:
                graph[name].setdefault(target, line)
    return graph


GRAPH = _graph()


def test_the_scan_sees_the_package():
    assert {"nnqft_engine", "nnqft_engine.sampling.statistics", "nnqft_engine.theory.quadrature"} <= set(MODULES)
    assert GRAPH["nnqft_engine.theory.quadrature"].keys() >= {"nnqft_engine.gauss_rules", "nnqft_engine.priors"}
    # Package re-exports count: the top-level __init__ imports sampling.statistics.
    assert "nnqft_engine.sampling.statistics" in GRAPH["nnqft_engine"]


def test_no_gui_imports():
    bad = [f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}"
           for name, path in MODULES.items() for target, line in _imports(name, path)
           if target.split(".")[0] in FORBIDDEN]
    assert not bad, "engine modules import GUI code:\n" + "\n".join(bad)


def test_theory_never_reaches_sampling():
    bad = []
    for start in (m for m in GRAPH if m == f"{PKG}.theory" or m.startswith(f"{PKG}.theory.")):
        # Breadth-first over nnqft_engine modules, remembering the path to report it.
        seen, frontier = {start: [start]}, [start]
        while frontier:
            nxt = []
            for m in frontier:
                for t in GRAPH[m]:
                    if t not in seen:
                        seen[t] = seen[m] + [t]
                        nxt.append(t)
            frontier = nxt
        for m, chain in seen.items():
            if m == f"{PKG}.sampling" or m.startswith(f"{PKG}.sampling."):
                bad.append(" -> ".join(f"{a} (line {GRAPH[a][b]})" for a, b in zip(chain, chain[1:])) + f" -> {m}")
                break
    assert not bad, "theory imports sampling:\n" + "\n".join(bad)


def test_import_graph_is_acyclic():
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == "open":
                cyc = stack[stack.index(t):] + [t]
                cycles.append(" -> ".join(f"{a} (line {GRAPH[a][b]})" for a, b in zip(cyc, cyc[1:])) + f" -> {t}")
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles in nnqft_engine:\n" + "\n".join(cycles)
