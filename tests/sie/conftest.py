"""Fixtures for the SIE tests: the project's own SIE files and vouchers built from Z-reports."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from config.bas import bas_default_mapping_data
from exporters.core import BuildOptions, Voucher, build_voucher, parse_mapping, parse_z_report
from exporters.sie.writer import Company
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sie"
SIE_FILES = sorted(path for path in FIXTURES.iterdir() if path.suffix.lower() in (".se", ".si"))
EXAMPLE_Z_REPORT = json.loads((ROOT / "examples" / "z-report-restaurant.json").read_text("utf-8"))


def z_report_data(day: date, z_number: int, register: str = "Kassa 1") -> dict:
    """The example restaurant day, moved to ``day`` with its own Z number."""
    data = copy.deepcopy(EXAMPLE_Z_REPORT)
    data["business_date"] = day.isoformat()
    data["z_number"] = z_number
    data["register"]["id"] = register
    for key in ("opened_at", "closed_at", "generated_at"):
        data[key] = day.isoformat() + data[key][10:]
    return data


@pytest.fixture
def make_voucher() -> Callable[..., Voucher]:
    mapping = parse_mapping({"cash_difference": 6990}, base=bas_default_mapping_data())

    def make(day: date, z_number: int = 1, series: str | None = "K", **mapping_changes: object) -> Voucher:
        used = mapping
        if mapping_changes:
            used = parse_mapping(
                {"cash_difference": 6990, **mapping_changes}, base=bas_default_mapping_data()
            )
        return build_voucher(
            parse_z_report(z_report_data(day, z_number)), used, BuildOptions(voucher_series=series)
        )

    return make


@pytest.fixture
def company() -> Company:
    return Company("Exempelkrogen AB", "556677-8899")


@pytest.fixture(scope="module", params=["C", "Python"])
def lane(request: pytest.FixtureRequest) -> Iterator[str]:
    """The fast lane's balance check in C (``exporters.sie._speedups``, skipped where it is not built) or
    in pure Python; module-scoped so hypothesis tests can use it (``usefixtures("lane")``)."""
    from exporters.sie import usual

    if request.param == "C":
        # Under ./dev test (which installs a C compiler) a missing build is a failure, not a skip.
        require(usual._built is not None, "the SIE reader's C accelerator (a C compiler at install)")
    saved = usual.accelerator
    usual.accelerator = usual._built if request.param == "C" else None
    try:
        yield request.param
    finally:
        usual.accelerator = saved
