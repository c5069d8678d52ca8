"""The shape of the code in ``mailer/``: no function over 60 lines, and none nested
over four levels of blocks unless a comment at its deepest line says why (``# deep:``).
A long function is split by meaning (a pure plan step, then a write step), which ruff's
PLR0912, PLR0915 and C901 (on in pyproject.toml) hold from the other side."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailer"
MAX_LINES = 60
MAX_DEPTH = 4
_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def functions() -> Iterator[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, _FUNCTIONS):
                yield path, node


def _deepest(node: ast.AST, depth: int = 0) -> Iterator[tuple[int, int]]:
    """(depth, line) of every statement, counting the blocks around it within one
    function (a nested function counts on its own)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.stmt):
            yield depth, child.lineno
        # an elif is an If inside an If's orelse, one level for the reader, not two
        inner = depth + 1 if isinstance(child, _BLOCKS) else depth
        if isinstance(node, ast.If) and isinstance(child, ast.If) and child in node.orelse:
            inner = depth
        yield from _deepest(child, inner)


def test_no_function_is_over_60_lines() -> None:
    long = [
        f"{path.relative_to(PACKAGE.parent)}:{fn.lineno} {fn.name} has "
        f"{(fn.end_lineno or fn.lineno) - fn.lineno + 1} lines"
        for path, fn in functions()
        if (fn.end_lineno or fn.lineno) - fn.lineno + 1 > MAX_LINES
    ]
    assert long == []


def test_no_function_nests_over_four_levels_without_saying_why() -> None:
    deep = []
    for path, fn in functions():
        lines = path.read_text(encoding="utf-8").splitlines()
        for depth, line in _deepest(fn):
            if depth > MAX_DEPTH and "# deep:" not in lines[line - 1]:
                deep.append(f"{path.relative_to(PACKAGE.parent)}:{line} in {fn.name}: {depth}")
    assert deep == []
