"""The architecture, checked: imports point down the layers, nothing imports in a circle, and
every source file and function stays small.

    cli         the command line: may use every layer below
    fastscale_client  the public HTTP client: httpx and the API's models (app.schemas) only
    app workers FastAPI / torch + RQ: beside each other, neither imports the other
    service     shared by app and workers: no FastAPI, no torch
    fastscale   the pure core: imports none of the others

Read from the source (AST), lazy imports inside functions included, so a shortcut taken in a
function body counts as much as one at the top of a file; circles between files are refused the
same way. Rooms stay small (at most 15 modules a folder), each says what it owns, and the
README's layout section names them all.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"fastscale": 0, "service": 1, "app": 2, "workers": 2, "fastscale_client": 3, "cli": 4, "bench": 5}
PACKAGES = tuple(LAYER)
FORBIDDEN_LIBRARIES = {
    "fastscale": {"fastapi", "starlette", "redis", "rq", "uvicorn", "pydantic_settings", "typer", "rich"},
    "service": {"fastapi", "starlette", "torch", "uvicorn", "typer", "rich"},
    "app": {"torch"},
    "workers": {"fastapi", "starlette", "uvicorn"},
    "fastscale_client": {"fastapi", "starlette", "torch", "uvicorn", "redis", "rq", "pydantic_settings", "typer",
                         "rich", "jinja2"},
}
MAX_FILE_LINES, MAX_FUNCTION_LINES, MAX_FOLDER_MODULES = 300, 50, 15


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    own = module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]) if node.level else node.module
            out.add(base.strip("."))
            out |= {f"{base}.{alias.name}".strip(".") for alias in node.names}
    return out


def package_graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for package in PACKAGES:
        for path in sources(package):
            graph[package] |= {name.split(".")[0] for name in imports(path)} & set(PACKAGES) - {package}
    return graph


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down(package):
    for other in package_graph()[package]:
        assert LAYER[other] < LAYER[package], f"{package} imports {other}: imports must point down the layers"


@pytest.mark.parametrize("package", list(FORBIDDEN_LIBRARIES))
def test_layers_keep_their_libraries_out(package):
    for path in sources(package):
        used = {name.split(".")[0] for name in imports(path)} & FORBIDDEN_LIBRARIES[package]
        assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in ``graph`` (the nodes around it, the first repeated at the end), or None."""
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [node, nxt] if nxt in trail else trail + [node, nxt]
            if nxt not in state and (found := visit(nxt, trail + [node])):
                return found
        state[node] = 2
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node, []))), None)


def module_graph() -> dict[str, set[str]]:
    """Which module imports which, every import counted, those inside functions too: a circle
    dodged by a local import is still a circle in the design. A module's own parent packages are
    initialised before it, so they are not edges."""
    modules = {module_name(p): p for package in PACKAGES for p in sources(package)}
    return {name: {m for m in imports(path) if m in modules and not (name == m or name.startswith(m + "."))}
            for name, path in modules.items()}


def test_no_import_cycles_among_packages_or_modules():
    assert cycle(package_graph()) is None
    assert cycle(module_graph()) is None, f"files import each other in a circle: {' -> '.join(cycle(module_graph()))}"


def test_the_cycle_check_sees_a_circle_through_a_local_import():
    """Guards against a checker that passes because it reads nothing: a circle closed inside a
    function body is found, and the circle is named."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle(graph) == ["a", "b", "c", "a"]
    real = module_graph()
    assert "fastscale.planning.planner" in real["fastscale.pycls.stored"]
    assert cycle({**real, "fastscale.errors": real["fastscale.errors"] | {"fastscale.planning.planner"}})


def test_no_folder_holds_more_than_15_modules():
    """Rooms by capability: a folder of more modules than a reader can scan is split by what they do."""
    crowded = {}
    for package in PACKAGES + ("tests",):
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            if len(modules) > MAX_FOLDER_MODULES:
                crowded[str(folder.relative_to(ROOT))] = len(modules)
    assert not crowded, crowded


def test_every_room_has_a_docstring_and_the_readme_names_it():
    """Each subpackage says in its ``__init__`` what it owns, and the README's layout section names
    every one of them (and none that is gone)."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Architecture"):readme.index("## What the numbers mean")]
    rooms = sorted(str(p.parent.relative_to(ROOT)) for package in PACKAGES if package != "bench"
                   for p in (ROOT / package).rglob("__init__.py") if p.parent != ROOT / package)
    for room in rooms:
        assert ast.get_docstring(ast.parse((ROOT / room / "__init__.py").read_text())), f"{room}/__init__.py"
        assert f"{room.split('/', 1)[1]}/" in layout or f"{room}/" in layout, f"README's layout does not name {room}/"
    named = {n.rstrip("/") for n in re.findall(r"`((?:fastscale|service|app|workers|cli)/[a-z_/]+/)`", layout)}
    assert named <= set(rooms), f"README's layout names folders that do not exist: {sorted(named - set(rooms))}"


def test_sources_stay_small():
    too_big = []
    for package in PACKAGES:
        for path in sources(package):
            text = path.read_text()
            rel = path.relative_to(ROOT)
            if len(text.splitlines()) > MAX_FILE_LINES:
                too_big.append(f"{rel}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = node.end_lineno - node.lineno + 1
                    if length > MAX_FUNCTION_LINES:
                        too_big.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    assert not too_big, f"over {MAX_FILE_LINES} lines per file or {MAX_FUNCTION_LINES} per function: {too_big}"


def test_the_checks_see_real_imports():
    """Guards against a checker that passes because it reads nothing."""
    graph = package_graph()
    assert graph["app"] == {"fastscale", "service"} and graph["workers"] == {"fastscale", "service"}
    assert graph["service"] == {"fastscale"} and not graph["fastscale"]
    assert {"app", "workers", "service", "fastscale", "fastscale_client"} <= graph["cli"]
    assert graph["fastscale_client"] == {"app"}
    assert "torch" in {n.split(".")[0] for n in imports(ROOT / "workers" / "profiler" / "timing.py")}


def loaded_after_import(modules: list[str]) -> set[str]:
    """Top-level packages in sys.modules after importing ``modules`` in a fresh interpreter."""
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint(','.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return {name.split(".")[0] for name in out.strip().split(",")}


def test_at_run_time_too():
    service = [module_name(p) for p in sources("service")]
    assert not loaded_after_import(service) & {"fastapi", "starlette", "torch", "app", "workers", "cli"}
    assert not loaded_after_import(["app.main"]) & {"torch", "workers", "cli"}
    assert not loaded_after_import(["app.schemas"]) & {"fastapi", "starlette"}  # clients may use the models
    assert not loaded_after_import(["fastscale_client"]) & {"fastapi", "starlette", "torch", "redis", "rq", "service",
                                                            "workers", "cli", "fastscale"}
    # The CLI's entry point loads no service stack: `fastscale plan` works without it.
    assert not loaded_after_import(["cli.main"]) & {"fastapi", "starlette", "redis", "rq", "torch", "app", "workers"}


def test_the_client_takes_only_the_models_from_the_api():
    """fastscale_client may import app.schemas (pydantic only) and nothing else of the server."""
    for path in sources("fastscale_client"):
        server = {name for name in imports(path) if name.split(".")[0] in LAYER and name.split(".")[0] != "fastscale_client"}
        assert all(name.startswith("app.schemas") for name in server), f"{path.relative_to(ROOT)} imports {sorted(server)}"
