"""The BAS default account mapping, shipped as data (``bas_default_mapping.json``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def bas_default_mapping_data() -> dict[str, Any]:
    """The BAS 2025 defaults as the mapping file format (see ``exporters.core.mapping``)."""
    text = resources.files("config").joinpath("bas_default_mapping.json").read_text("utf-8")
    data = json.loads(text)
    data.pop("_comment", None)
    return data
