"""Every text the pages show in English has its Swedish (Swedish is the default language)."""

from __future__ import annotations

import re
from pathlib import Path

from backoffice.i18n import SV
from backoffice.services.overview import STATUS_LABELS

PACKAGE = Path(__file__).resolve().parents[2] / "backoffice"
LITERAL = re.compile(r"""\b_\(\s*"([^"]+)"\s*[,)]""")
TAB_LABEL = re.compile(r"""\("[a-z_.]+",\s*"([^"]+)"\)""")


def test_every_literal_text_has_its_swedish():
    texts = set()
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("views/*.py"), PACKAGE / "auth.py"]:
        source = path.read_text("utf-8")
        texts |= set(LITERAL.findall(source))
        if path.suffix == ".html":
            texts |= set(TAB_LABEL.findall(source))  # labels passed to _() through a list, e.g. the tabs
    texts |= set(STATUS_LABELS.values())
    assert len(texts) > 60
    assert sorted(text for text in texts if text not in SV) == []
