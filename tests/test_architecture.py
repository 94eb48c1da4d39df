"""The package's rooms and the imports between them, read from the source as written.

Every import counts, those inside functions and under ``TYPE_CHECKING`` too: an import moved
into a function to dodge a cycle is still a cycle in the design.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The stages, in the order data flows through them.
STAGES = ("crawl", "ground", "generate", "verify", "export")
#: The spine's modules that run stages: the command line and the demo it starts.
COMMANDS = {"groundset.cli", "groundset.__main__", "groundset.demo"}


def modules() -> dict[str, Path]:
    """Every module of the installed package by its dotted name, from pyproject's package-dir."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: dict[str, Path] = {}
    # Longest package first, so that a stage's folder wins over the spine's mapping.
    for package, folder in sorted(
        config["tool"]["setuptools"]["package-dir"].items(), key=lambda kv: -len(kv[0])
    ):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.setdefault(".".join([package, *parts]), path)
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports, wherever the import stands."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.add(target if target in known else base)
    return (out & known) - {name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def room(module: str) -> str:
    """``crawl`` ... ``export``, ``project`` for the project layer, ``spine`` for the rest."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in (*STAGES, "project"):
        return parts[1]
    return "spine"


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_every_room_is_found() -> None:
    rooms = {room(m) for m in graph()}
    assert rooms == {*STAGES, "project", "spine"}


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(graph()) == []


def test_the_stages_do_not_import_the_project_layer_or_the_command_line() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        if room(module) in STAGES
        for target in targets
        if room(target) == "project" or target in COMMANDS
    ]
    assert wrong == []


def test_the_spine_imports_no_stage_and_no_project_but_in_its_commands() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        if room(module) == "spine" and module not in COMMANDS
        for target in targets
        if room(target) != "spine"
    ]
    assert wrong == []
