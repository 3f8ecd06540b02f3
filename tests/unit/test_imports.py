"""The import graph of ``portal/`` has no cycle, and no module imports another module's private name.

A cycle hidden in function-local imports still couples the modules both ways: neither can be
understood, tested or moved without the other. So both module-level and function-local imports
count; only imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "portal"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level or inside any function or class."""
    for node in ast.iter_child_nodes(tree):
        if is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from runtime_imports(node)


def imported_from(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from … import`` reads (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def edges(modules: dict[str, Path]) -> Iterator[tuple[str, str, str, int]]:
    """(importer, imported module, name imported or "", line) for every import of a portal module."""
    for module, path in modules.items():
        for node in runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        yield module, alias.name, "", node.lineno
                continue
            source = imported_from(module, path, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:  # ``from portal.tickets import sla`` imports a module
                    yield module, submodule, "", node.lineno
                elif source in modules:
                    yield module, source, alias.name, node.lineno


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for importer, imported, _name, _line in edges(modules):
        if imported != importer:
            graph[importer].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_checker_sees_a_cycle_through_a_function_local_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_reads_function_local_and_relative_imports():
    tree = ast.parse(
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from portal.db import engine\n"
        "def f():\n    from .rules import _hidden\n"
    )
    found = list(runtime_imports(tree))
    assert [type(node).__name__ for node in found] == ["Import", "ImportFrom", "ImportFrom"]
    relative = found[-1]
    assert imported_from("portal.tickets.work", PACKAGE / "tickets" / "work.py", relative) == "portal.tickets.rules"


def test_no_import_cycle_among_portal_modules():
    found = cycles(import_graph(sources()))
    assert found == [], "import cycles (each line one group of modules that import each other):\n" + "\n".join(
        " ↔ ".join(group) for group in found
    )


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(modules: dict[str, Path]) -> Iterator[str]:
    """``from x import _y`` and ``x._y`` where ``x`` names another portal module."""
    for importer, imported, name, line in edges(modules):
        if is_private(name):
            yield f"{importer} line {line}: from {imported} import {name}"
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases = {
            alias.asname or alias.name: f"{imported_from(module, path, node)}.{alias.name}"
            for node in runtime_imports(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
            if f"{imported_from(module, path, node)}.{alias.name}" in modules
        } | {
            alias.asname: alias.name
            for node in runtime_imports(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.asname and alias.name in modules
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and is_private(node.attr)
            ):
                yield f"{module} line {node.lineno}: {aliases[node.value.id]}.{node.attr}"


def test_the_checker_sees_private_names_used_through_a_module(tmp_path):
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "a.py").write_text("def _helper():\n    pass\n")
    (tmp_path / "portal" / "b.py").write_text("from portal import a\n\ndef f():\n    return a._helper()\n")
    modules = {"portal.a": tmp_path / "portal" / "a.py", "portal.b": tmp_path / "portal" / "b.py"}
    assert list(private_uses(modules)) == ["portal.b line 4: portal.a._helper"]


def test_no_module_uses_another_modules_private_name():
    private = list(private_uses(sources()))
    assert private == [], "private names used from another module (make them public where they belong):\n" + (
        "\n".join(private)
    )


@pytest.mark.parametrize("module", ["portal.web.stores", "portal.jobs.worker", "portal.jobs.queue"])
def test_the_job_layer_and_the_web_layer_import_no_domain(module):
    domains = ("portal.accounts", "portal.booking", "portal.tickets", "portal.mail", "portal.backoffice")
    graph = import_graph(sources())
    assert not [target for target in graph[module] if target.startswith(domains)]


def test_no_web_module_imports_a_domain():
    """The web layer (templating, sessions, errors, access policy…) knows accounts (who is signed in)
    and nothing above: domains hand their template values in through their own controllers."""
    above = ("portal.booking", "portal.tickets", "portal.mail", "portal.backoffice")
    graph = import_graph(sources())
    found = {m: sorted(t for t in ts if t.startswith(above)) for m, ts in graph.items() if m.startswith("portal.web")}
    assert {m: t for m, t in found.items() if t} == {}
    assert "portal.jobs.worker" not in graph["portal.web.stores"]


def test_every_job_kind_the_code_enqueues_or_schedules_has_a_registered_handler():
    from portal.job_handlers import JOBS
    from portal.jobs.worker import SCHEDULES

    enqueued = {
        node.args[0].value
        for path in sources().values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "enqueue"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    registered = {kind for kind, _function, _on_give_up in JOBS}
    assert len(enqueued) >= 6
    assert enqueued | {schedule.kind for schedule in SCHEDULES} <= registered


def test_accounts_know_no_domain_they_sit_below():
    """Domains react to account events through hooks the app factory wires (``on_address_proven``,
    ``before_deactivation``…); accounts imports none of them, not even inside a function."""
    above = ("portal.booking", "portal.tickets", "portal.backoffice")
    graph = import_graph(sources())
    found = {
        module: sorted(t for t in targets if t.startswith(above))
        for module, targets in graph.items()
        if module.startswith("portal.accounts")
    }
    assert {m: t for m, t in found.items() if t} == {}
