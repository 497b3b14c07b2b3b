"""The bridge ships alone to the store (DESIGN.md section 1): it may use the core's Z-report model and the
settings, never the BackOffice or the exporters' integrations."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pos_bridge"
ALLOWED = {"serial", "escpos", "httpx", "pos_bridge", "config"}


def foreign_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED or name.startswith("exporters.core"):
                continue
            found.add(name)
    return found


def test_the_bridge_imports_neither_the_backoffice_nor_the_exporters():
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 10
    assert {path.name: sorted(foreign_imports(path)) for path in files if foreign_imports(path)} == {}


def test_the_check_would_catch_a_backoffice_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import backoffice.models\nfrom exporters.fortnox import client\nfrom exporters.core import ZReport\n"
    )
    assert foreign_imports(sneaky) == {"backoffice.models", "exporters.fortnox"}
