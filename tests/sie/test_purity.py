"""The SIE package is pure like the core: the standard library and ``exporters`` (core, providers) only,
so the BackOffice, the CLI and a bridge can all use it. Its CLI module may import the project's config."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SIE = Path(__file__).resolve().parents[2] / "exporters" / "sie"
ALLOWED = ("exporters.core", "exporters.sie", "exporters.providers")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_sie_imports_only_the_standard_library_and_the_core():
    files = sorted(path for path in SIE.glob("*.py") if path.name != "cli.py")
    assert len(files) >= 8
    offenders = {
        path.name: foreign
        for path in files
        if (
            foreign := {
                name
                for name in imported_modules(path)
                if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith(ALLOWED)
            }
        )
    }
    assert offenders == {}


def test_the_c_accelerator_uses_only_the_c_library_and_cpythons_api():
    source = (SIE / "_speedups.c").read_text("utf-8")
    includes = {line.split()[1] for line in source.splitlines() if line.startswith("#include")}
    assert includes == {"<Python.h>", "<stdint.h>", "<string.h>"}
    assert "malloc" not in source and "PyMem_" not in source  # no allocation but the result objects
