"""Layers never call up, not even inside a function (docs/architecture.md draws them).

Every `import` of the package is read, at any depth, and checked against the layering: storage
knows nothing of the engine above it, actions and rules know nothing of the pipeline that runs
them, nothing below the composition root imports it, and only the command line imports commands.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.conftest import REPO

PACKAGE = REPO / "botengine"
PIPELINE = {"processing", "worker", "scheduler", "receiver", "ticker", "dry_run", "inline_tests"}
ENTRY = {"app", "cli", "commands", "testing", "__main__"}  # the composition root and what uses it

# (a part of the package, what it may not import)
RULES: list[tuple[str, set[str]]] = [
    ("actions", {"rules", "dashboard"} | PIPELINE | ENTRY),
    ("rules", {"dashboard"} | PIPELINE | ENTRY),
    ("processing", ENTRY),
    ("worker", ENTRY),
    ("scheduler", ENTRY),
    ("dashboard", ENTRY),
    ("app", ENTRY - {"app"}),
]
STORAGE_MAY_IMPORT = {"storage", "errors", "types", "config"}


def imports() -> Iterator[tuple[str, str, str]]:
    """(module, its part of the package, the module it imports) for every import of botengine."""
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        part = path.relative_to(PACKAGE).with_suffix("").parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("botengine."):
                    yield module, part, name


def test_no_layer_imports_a_higher_one() -> None:
    found = []
    for module, part, name in imports():
        imported = name.split(".")[1]
        if part == "storage" and imported not in STORAGE_MAY_IMPORT:
            found.append(f"{module} imports {name}")
        for lower, above in RULES:
            if part == lower and imported in above:
                found.append(f"{module} imports {name}")
    assert not found, "layers calling up:\n" + "\n".join(sorted(found))


def test_the_check_sees_imports_inside_functions() -> None:
    # storage/factory.py imports the Redis backend only when asked for, inside open_storage
    assert ("botengine.storage.factory", "storage", "botengine.storage.redis") in set(imports())
