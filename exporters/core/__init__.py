"""The pure accounting core: standard library only (see README.md in this folder)."""

from exporters.core.errors import (
    CannotBuildVoucher,
    DagskassaError,
    FixData,
    MappingInvalid,
    NotFound,
    OutcomeUnknown,
    Problem,
    Reconnect,
    Rejected,
    RetryLater,
    VoucherUnbalanced,
    ZReportInvalid,
)
from exporters.core.mapping import AccountMapping, parse_mapping
from exporters.core.money import from_ore, money_str, parse_money, to_ore
from exporters.core.voucher import (
    BuildOptions,
    Voucher,
    VoucherRow,
    build_voucher,
    origin_marker,
    reverse_voucher,
)
from exporters.core.zreport import ZReport, parse_z_report

__all__ = [
    "AccountMapping",
    "BuildOptions",
    "CannotBuildVoucher",
    "DagskassaError",
    "FixData",
    "MappingInvalid",
    "NotFound",
    "OutcomeUnknown",
    "Problem",
    "Reconnect",
    "Rejected",
    "RetryLater",
    "Voucher",
    "VoucherRow",
    "VoucherUnbalanced",
    "ZReport",
    "ZReportInvalid",
    "build_voucher",
    "from_ore",
    "money_str",
    "origin_marker",
    "parse_mapping",
    "parse_money",
    "parse_z_report",
    "reverse_voucher",
    "to_ore",
]
