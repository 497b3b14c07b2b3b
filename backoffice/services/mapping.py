"""A store's account mapping: its own entries laid over the BAS defaults, its cost center and project
from the sync settings, and the cost-center rules of the chart imported from Fortnox."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from backoffice import audit
from backoffice.models import FortnoxAccount, MappingEntry, Store, SyncSettings, User, ZReportRecord
from config.bas import bas_default_mapping_data
from exporters.core import AccountMapping, ZReport, parse_mapping
from exporters.core.errors import MappingInvalid, Problem

#: Mapping sections with one account each (no key).
SINGLE = ("tips", "rounding", "cash_difference")
#: The kind under which the mapping query returns an account's cost-center and project rules.
RULE = "rule"
KINDS = ("payment_methods", "product_groups", "revenue_by_vat_rate", "output_vat", *SINGLE)


def settings_of(session: Session, store: Store, create: bool = True) -> SyncSettings:
    """The store's sync settings; the defaults the first time they are asked for (stored only when
    ``create``, so a read-only caller writes nothing)."""
    settings = session.get(SyncSettings, store.id)
    if settings is None:
        settings = default_settings(store.id)
        if create:
            session.add(settings)
            session.flush()
    return settings


def default_settings(store_id: int) -> SyncSettings:
    """A store's sync settings before it saved any (not added to a session)."""
    return SyncSettings(store_id=store_id, sync_sales=True, invoicing=False, posting_time="06:00")


def entries_data(entries: Iterable[tuple[str, str, int]]) -> dict[str, Any]:
    """``(kind, key, account)`` entries in the mapping file form of :func:`exporters.core.parse_mapping`."""
    data: dict[str, Any] = {}
    for kind, key, account in entries:
        if kind in SINGLE:
            data[kind] = account
        elif kind == "product_groups":
            group, _, rate = key.rpartition("|")
            data.setdefault("product_groups", {}).setdefault(group, {})[rate] = account
        else:
            data.setdefault(kind, {})[key] = account
    return data


#: Built once: a store's mapping entries (kind, key, account) and, in the same round trip, its accounts
#: with a cost-center or project rule (as ``("rule", "<cost center rule>|<project rule>", number)``).
_ENTRIES_AND_RULES = union_all(
    select(MappingEntry.kind, MappingEntry.key, MappingEntry.account).where(
        MappingEntry.store_id == bindparam("store_id")
    ),
    select(
        literal(RULE, String),
        FortnoxAccount.cost_center_rule + "|" + FortnoxAccount.project_rule,
        FortnoxAccount.number,
    ).where(
        FortnoxAccount.store_id == bindparam("store_id"),
        (FortnoxAccount.cost_center_rule != "ALLOWED") | (FortnoxAccount.project_rule != "ALLOWED"),
    ),
)


def store_mapping(session: Session, store: Store, settings: SyncSettings | None = None) -> AccountMapping:
    settings = settings or settings_of(session, store, create=False)
    # One plain read on the connection: this runs for every Z-report received.
    entries, rules = [], []
    for kind, key, account in session.connection().execute(_ENTRIES_AND_RULES, {"store_id": store.id}):
        if kind == RULE:
            cost_center_rule, _, project_rule = key.partition("|")
            rules.append((account, cost_center_rule, project_rule))
        else:
            entries.append((kind, key, account))
    return _mapping(
        tuple(sorted(entries)),
        tuple(sorted(rules)),
        settings.cost_center,
        settings.project,
    )


@functools.lru_cache(maxsize=4096)
def _mapping(
    entries: tuple[tuple[str, str, int], ...],
    rules: tuple[tuple[int, str, str], ...],
    cost_center: str | None,
    project: str | None,
) -> AccountMapping:
    """The mapping from what the database holds; a pure function of its arguments, so it is remembered
    (the register API builds one per Z-report, and most days nothing in it changed)."""
    data = entries_data(entries)
    data["cost_center"] = cost_center
    data["project"] = project
    data["cost_center_rules"] = {str(n): cc for n, cc, _ in rules if cc != "ALLOWED"}
    data["project_rules"] = {str(n): pr for n, _, pr in rules if pr != "ALLOWED"}
    return parse_mapping(data, bas_defaults())


@functools.cache
def bas_defaults() -> dict[str, Any]:
    """The BAS default mapping, read once per process (it is shipped data; ``parse_mapping`` only reads
    its base)."""
    return bas_default_mapping_data()


def mapping_keys(z_report: ZReport) -> list[str]:
    """The keys a report books on, as :func:`exporters.core.build_voucher` names unmapped ones."""
    keys = {f"payment_method:{p.method}" for p in z_report.payments}
    keys |= {f"product_group:{r.product_group}:{r.vat_rate}" for r in (*z_report.sales, *z_report.returns)}
    if z_report.tips:
        keys.add("tips")
    if z_report.rounding:
        keys.add("rounding")
    if z_report.cash_count and z_report.cash_count.difference:
        keys.add("cash_difference")
    return sorted(keys)


@dataclass(frozen=True)
class MappingRow:
    """One line of the mapping page: what is booked, the account in use and where it comes from."""

    kind: str
    key: str
    label: str
    account: int | None
    #: ``store`` (the store chose it), ``bas`` (the BAS default is used) or ``missing`` (needs mapping:
    #: no account, or one the accounting system's chart lacks, e.g. after a switch to another system).
    source: str
    seen: bool

    @property
    def field_name(self) -> str:
        return f"acct:{self.kind}:{self.key}"


def _resolve(mapping: AccountMapping, kind: str, key: str) -> int | None:
    if kind in SINGLE:
        return getattr(mapping, kind)
    if kind == "product_groups":
        group, _, rate = key.rpartition("|")
        return mapping.revenue_account(group, rate)
    return getattr(mapping, kind).get(key)


def mapping_rows(session: Session, store: Store) -> list[MappingRow]:
    """Every mapping line for the page: the ones that need mapping first (no account, or an account not
    in the chart imported from the accounting system), then keys seen in Z-reports but not chosen by the
    store, then the rest in a stable order."""
    mapping = store_mapping(session, store)
    chart = set(session.scalars(select(FortnoxAccount.number).where(FortnoxAccount.store_id == store.id)))
    own = {
        (e.kind, e.key)
        for e in session.scalars(select(MappingEntry).where(MappingEntry.store_id == store.id))
    }
    seen: set[tuple[str, str]] = set()
    for keys in session.scalars(
        select(ZReportRecord.mapping_keys)
        .where(ZReportRecord.store_id == store.id)
        .order_by(ZReportRecord.id.desc())
        .limit(400)
    ):
        for key in keys:
            kind, _, rest = key.partition(":")
            if kind == "payment_method":
                seen.add(("payment_methods", rest))
            elif kind == "product_group":
                group, _, rate = rest.rpartition(":")
                seen.add(("product_groups", f"{group}|{rate}"))
            else:
                seen.add((kind, ""))
    lines = set(seen) | own
    lines |= {("payment_methods", m) for m in mapping.payment_methods}
    lines |= {("revenue_by_vat_rate", r) for r in mapping.revenue_by_vat_rate}
    lines |= {("output_vat", r) for r in mapping.output_vat}
    lines |= {(kind, "") for kind in SINGLE}
    rows = []
    for kind, key in lines:
        account = _resolve(mapping, kind, key)
        source = "store" if (kind, key) in own else ("bas" if account is not None else "missing")
        if account is not None and chart and account not in chart:
            source = "missing"
        rows.append(MappingRow(kind, key, _label(kind, key), account, source, (kind, key) in seen))

    def order(row: MappingRow) -> tuple:
        unconfirmed = row.seen and row.source != "store"
        return (row.source != "missing", not unconfirmed, KINDS.index(row.kind), row.key)

    return sorted(rows, key=order)


def _label(kind: str, key: str) -> str:
    if kind == "product_groups":
        group, _, rate = key.rpartition("|")
        return f"{group} {rate} %" if rate != "*" else group
    if kind in ("revenue_by_vat_rate", "output_vat"):
        return f"{key} %"
    return key


def save_mapping(session: Session, store: Store, user: User, form: dict[str, str]) -> list[Problem]:
    """Apply the mapping form (``acct:<kind>:<key>`` -> account, empty for the BAS default). Returns the
    problems, all at once; nothing is changed when there is any."""
    problems: list[Problem] = []
    wanted: dict[tuple[str, str], int | None] = {}
    chart = set(session.scalars(select(FortnoxAccount.number).where(FortnoxAccount.store_id == store.id)))
    for name, value in form.items():
        if not name.startswith("acct:"):
            continue
        _, kind, key = name.split(":", 2)
        if kind not in KINDS:
            problems.append(Problem(name, f"{kind!r} is not a mapping section"))
            continue
        value = value.strip()
        if not value:
            wanted[kind, key] = None
        elif not value.isdigit() or not 1000 <= int(value) <= 9999:
            problems.append(Problem(name, f"{value!r} is not an account number", "use 1000-9999"))
        elif chart and int(value) not in chart:
            problems.append(
                Problem(name, f"account {value} is not in the chart imported from Fortnox", "pick one")
            )
        else:
            wanted[kind, key] = int(value)
    existing = {
        (e.kind, e.key): e
        for e in session.scalars(select(MappingEntry).where(MappingEntry.store_id == store.id))
    }
    data = entries_data((kind, key, account) for (kind, key), account in wanted.items() if account)
    try:
        parse_mapping(data, bas_defaults())
    except MappingInvalid as exc:
        problems.extend(exc.problems)
    if problems:
        return problems
    changes = {}
    for (kind, key), account in wanted.items():
        entry = existing.get((kind, key))
        before = entry.account if entry else None
        if before == account:
            continue
        changes[f"{kind}:{key}"] = [before, account]
        if account is None:
            session.delete(entry)
        elif entry is None:
            session.add(MappingEntry(store_id=store.id, kind=kind, key=key, account=account))
        else:
            entry.account = account
    if changes:
        audit.record(session, user, "mapping.changed", store, changes=changes)
    return []
