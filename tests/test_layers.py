"""The house's layers, read from the code's own imports (no module is run).

Every module of ``mailer/`` belongs to one layer; a module may import its own layer and
the layers below it, never one above (an import under ``if TYPE_CHECKING:`` names a type
and is not counted). The import graph has no circle. Transport knows nothing of campaigns:
``mailer.delivery`` imports neither storage, campaigns, scheduling nor web.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mailer"

# From the ground up. A layer's modules may use each other (without a circle).
LAYERS: list[tuple[str, ...]] = [
    (
        "mailer.exceptions",
        "mailer.lazy",
        "mailer.addresses",
        "mailer.timezones",
        "mailer.tokens",
        "mailer.signals",
    ),
    ("mailer.settings",),
    ("mailer.storage",),
    ("mailer.accounts",),
    ("mailer.articles",),
    ("mailer.subscribers",),
    ("mailer.rendering",),
    ("mailer.delivery",),
    ("mailer.campaigns", "mailer.events", "mailer.workers"),
    ("mailer.scheduling",),
    ("mailer.web",),
    ("mailer.checks",),
    ("mailer.cli", "mailer.__main__"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_imports(other, module, is_package)
            continue
        if isinstance(child, ast.Import):
            yield from (alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = module.split(".")
                base = base[: len(base) - child.level + (1 if is_package else 0)]
                target = ".".join([*base, child.module] if child.module else base)
            else:
                target = child.module or ""
            yield target
            # ``from mailer.x import y`` may import the module mailer.x.y
            yield from (f"{target}.{alias.name}" for alias in child.names)
        else:
            yield from _runtime_imports(child, module, is_package)


@cache
def import_graph() -> dict[str, set[str]]:
    """Each module's runtime imports of other modules of the package (read once)."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path): path for path in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found = _runtime_imports(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in found if t in modules and t not in (name, "mailer")}
    return graph


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        if module != "mailer":
            layer_of(module)


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in import_graph().items()
        if module != "mailer"
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_delivery_is_transport_only() -> None:
    forbidden = ("mailer.storage", "mailer.campaigns", "mailer.scheduling", "mailer.web")
    reached = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.startswith("mailer.delivery")
        for target in sorted(targets)
        if target.startswith(forbidden)
    ]
    assert reached == []


def _circle_from(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_circle() -> None:
    graph = {
        module: {target for target in targets if not module.startswith(target + ".")}
        for module, targets in import_graph().items()
    }
    # a package's face importing its own modules is not a circle of concepts
    circle = _circle_from(graph)
    assert circle is None, " -> ".join(circle or [])


@pytest.mark.parametrize("package", ["delivery", "campaigns", "events", "settings"])
def test_the_packages_exist(package: str) -> None:
    assert (PACKAGE / package / "__init__.py").is_file()


def test_the_readme_table_names_every_package_in_layer_order() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## How it is built", 1)[1].split("Which library does what", 1)[0]
    named = [
        part.strip().strip("`").removesuffix("/").removesuffix(".py").replace("/", ".")
        for line in table.splitlines()
        if line.startswith("| ") and "`mailer/" in line
        for part in line.split("|")[2].split(",")
    ]
    on_disk = {
        module_name(path if path.suffix else path / "__init__.py")
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "__main__"))
        or (path / "__init__.py").is_file()
    }
    assert set(named) == on_disk
    assert [layer_of(name) for name in named] == sorted(layer_of(name) for name in named)
