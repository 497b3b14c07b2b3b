"""The core imports only the standard library and itself (DESIGN.md section 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "exporters" / "core"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_core_imports_only_the_standard_library():
    offenders = {}
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        foreign = {
            name
            for name in imported_modules(path)
            if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith("exporters.core")
        }
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_the_purity_check_would_catch_a_foreign_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import httpx\nfrom sqlalchemy import orm\nfrom exporters.fortnox import client\n")
    names = imported_modules(sneaky)
    assert {"httpx", "sqlalchemy", "exporters.fortnox"} <= names
