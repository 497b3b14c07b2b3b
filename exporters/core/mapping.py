"""The account mapping: which account each part of a Z-report is booked on.

Revenue is found per product group and VAT rate: an account set for the group at that rate, else for
the group at any rate (``"*"``), else the account for the VAT rate (the BAS default: 3001/3002/3003/3004).
Everything is the store's to change; the BAS defaults live in ``config/bas_default_mapping.json``.

Cost-center (and project) rules come from the accounting system's chart: ``ALLOWED`` (the store's cost
center goes on the row), ``MANDATORY`` (it must), ``NOTALLOWED`` (it must not).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from exporters.core.errors import MappingInvalid, Problem

ALLOWED = "ALLOWED"
MANDATORY = "MANDATORY"
NOTALLOWED = "NOTALLOWED"
DIMENSION_RULES = (ALLOWED, MANDATORY, NOTALLOWED)
ANY_RATE = "*"


@dataclass(frozen=True)
class AccountMapping:
    payment_methods: dict[str, int] = field(default_factory=dict)
    revenue_by_vat_rate: dict[str, int] = field(default_factory=dict)
    product_groups: dict[str, dict[str, int]] = field(default_factory=dict)
    output_vat: dict[str, int] = field(default_factory=dict)
    tips: int | None = None
    rounding: int | None = None
    cash_difference: int | None = None
    cost_center: str | None = None
    project: str | None = None
    cost_center_rules: dict[int, str] = field(default_factory=dict)
    project_rules: dict[int, str] = field(default_factory=dict)

    def revenue_account(self, product_group: str, vat_rate: str) -> int | None:
        """The revenue account for a product group at a VAT rate, or None when unmapped."""
        by_rate = self.product_groups.get(product_group, {})
        return by_rate.get(vat_rate) or by_rate.get(ANY_RATE) or self.revenue_by_vat_rate.get(vat_rate)

    def cost_center_rule(self, account: int) -> str:
        return self.cost_center_rules.get(account, ALLOWED)

    def project_rule(self, account: int) -> str:
        return self.project_rules.get(account, ALLOWED)

    def accounts(self) -> set[int]:
        """Every account this mapping can book on (for preflight: each must exist and be active)."""
        found = set(self.payment_methods.values()) | set(self.revenue_by_vat_rate.values())
        found |= set(self.output_vat.values())
        for by_rate in self.product_groups.values():
            found |= set(by_rate.values())
        found |= {a for a in (self.tips, self.rounding, self.cash_difference) if a is not None}
        return found

    def to_dict(self) -> dict[str, Any]:
        """The mapping file form, the inverse of :func:`parse_mapping`."""
        return {
            "payment_methods": dict(self.payment_methods),
            "revenue_by_vat_rate": dict(self.revenue_by_vat_rate),
            "product_groups": {group: dict(rates) for group, rates in self.product_groups.items()},
            "output_vat": dict(self.output_vat),
            "tips": self.tips,
            "rounding": self.rounding,
            "cash_difference": self.cash_difference,
            "cost_center": self.cost_center,
            "project": self.project,
            "cost_center_rules": {str(a): rule for a, rule in self.cost_center_rules.items()},
            "project_rules": {str(a): rule for a, rule in self.project_rules.items()},
        }


_SECTIONS = {
    "payment_methods",
    "revenue_by_vat_rate",
    "product_groups",
    "output_vat",
    "tips",
    "rounding",
    "cash_difference",
    "cost_center",
    "project",
    "cost_center_rules",
    "project_rules",
}


def parse_mapping(data: MappingABC[str, Any], base: MappingABC[str, Any] | None = None) -> AccountMapping:
    """Build a mapping from the file form, laid over ``base`` (usually the BAS defaults).

    Dictionaries are merged key by key (the file wins); a key set to ``null`` removes the base's
    entry. Every problem is reported at once in a :class:`MappingInvalid`.
    """
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    for name in sorted(set(data) | set(base or {})):
        if name.startswith("_"):
            continue
        if name not in _SECTIONS:
            problems.append(
                Problem(name, "is not a mapping setting", f"known: {', '.join(sorted(_SECTIONS))}")
            )
            continue
        under = (base or {}).get(name)
        over = data.get(name, under)
        if isinstance(under, MappingABC) and isinstance(over, MappingABC) and over is not under:
            combined = {**under, **over}
            merged[name] = {k: v for k, v in combined.items() if v is not None}
        else:
            merged[name] = over

    def account(value: Any, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 9999:
            problems.append(Problem(path, f"{value!r} is not an account number", "use 1000-9999"))
            return None
        return value

    def accounts_by_key(name: str) -> dict[str, int]:
        table = merged.get(name) or {}
        if not isinstance(table, MappingABC):
            problems.append(Problem(name, "must be an object of key: account"))
            return {}
        found = {str(key): account(value, f"{name}.{key}") for key, value in table.items()}
        return {key: value for key, value in found.items() if value is not None}

    product_groups: dict[str, dict[str, int]] = {}
    groups = merged.get("product_groups") or {}
    if isinstance(groups, MappingABC):
        for group, rates in groups.items():
            if isinstance(rates, (int, str)):
                rates = {ANY_RATE: rates}
            if not isinstance(rates, MappingABC):
                problems.append(Problem(f"product_groups.{group}", 'must be {"<vat rate>": account}'))
                continue
            product_groups[group] = {
                str(rate): acct
                for rate, value in rates.items()
                if (acct := account(value, f"product_groups.{group}.{rate}")) is not None
            }
    else:
        problems.append(Problem("product_groups", "must be an object"))

    def rules(name: str) -> dict[int, str]:
        table = merged.get(name) or {}
        found: dict[int, str] = {}
        for key, rule in table.items() if isinstance(table, MappingABC) else []:
            number = account(key, f"{name}.{key}")
            if rule not in DIMENSION_RULES:
                problems.append(
                    Problem(
                        f"{name}.{key}",
                        f"{rule!r} is not a rule",
                        f"use {', '.join(DIMENSION_RULES)}",
                    )
                )
            elif number is not None:
                found[number] = rule
        return found

    def dimension(name: str) -> str | None:
        value = merged.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            problems.append(Problem(name, f"{value!r} must be a code (text)"))
            return None
        return value

    mapping = AccountMapping(
        payment_methods=accounts_by_key("payment_methods"),
        revenue_by_vat_rate=accounts_by_key("revenue_by_vat_rate"),
        product_groups=product_groups,
        output_vat=accounts_by_key("output_vat"),
        tips=account(merged.get("tips"), "tips"),
        rounding=account(merged.get("rounding"), "rounding"),
        cash_difference=account(merged.get("cash_difference"), "cash_difference"),
        cost_center=dimension("cost_center"),
        project=dimension("project"),
        cost_center_rules=rules("cost_center_rules"),
        project_rules=rules("project_rules"),
    )
    if problems:
        raise MappingInvalid(problems)
    return mapping
