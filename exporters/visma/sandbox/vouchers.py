"""Vouchers and their attachments, with Visma's validation rules and error codes (FACTS.md section 3).

POST /v2/vouchers checks, in this order: the model (required members, unknown members, amounts >= 0
with at most two decimals, text lengths: 2000), balance (2000, code UNCONFIRMED), a fiscal year covering
the date (3001), the year not locked (4038), the date after the company's lock date (4026), each account
in that year's chart (3002) and active (2000, UNCONFIRMED), each cost center item known (3000), allowed on
the account (2000), active (5006), and the first one present where the account makes it mandatory (2000).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, request

from exporters.visma.sandbox.api import (
    ACCOUNT_NOT_FOUND,
    CONFLICT,
    FISCAL_YEAR_DOES_NOT_EXIST,
    INACTIVE_COST_CENTER,
    ITEM_TO_ATTACH_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    VOUCHER_DATE_IN_LOCKED_PERIOD,
    VOUCHER_DATE_IN_LOCKED_YEAR,
    VismaError,
    answer,
    bp,
    check_properties,
    endpoint,
    invalid,
    paginate,
    parse_filter,
    read_json,
    sandbox_state,
    utc_text,
)
from exporters.visma.sandbox.state import Attachment, Company, Voucher, VoucherRow, new_id

VOUCHER_MEMBERS = [
    "Id",
    "VoucherDate",
    "VoucherText",
    "Rows",
    "NumberAndNumberSeries",
    "NumberSeries",
    "VoucherType",
    "SourceId",
    "ImportedVoucherNumber",
    "Attachments",
    "CreatedUtc",
    "ModifiedUtc",
]
ROW_MEMBERS = [
    "AccountNumber",
    "AccountDescription",
    "DebitAmount",
    "CreditAmount",
    "TransactionText",
    "VatCodeId",
    "VatCodeAndPercent",
    "VatAmount",
    "Quantity",
    "Weight",
    "DeliveryDate",
    "HarvestYear",
    "CostCenterItemId1",
    "CostCenterItemId2",
    "CostCenterItemId3",
    "ProjectId",
]
VOUCHER_TEXT_MAX = 1000
TRANSACTION_TEXT_MAX = 60
AMOUNT_MAX = Decimal("10000000000")
DEFAULT_SERIES = "A"
VOUCHER_FILTER_FIELDS = {
    "VoucherDate": "date",
    "CreatedUtc": "datetime",
    "ModifiedUtc": "datetime",
    "NumberSeries": "str",
    "Number": "int",
}
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/tiff", "application/pdf")
_FILE_NAME = re.compile(r"^[\w\-() .]{1,200}$")
DOCUMENT_TYPE_VOUCHER = 3


def _amount(value: Any, field: str) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise invalid(f"{field} must be a number", field)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{field} must be a number", field) from None
    if amount < 0:
        raise invalid(f"{field} must be at least 0", field)
    if amount > AMOUNT_MAX:
        raise invalid(f"{field} must be at most 10000000000", field)
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid(f"{field} may have at most 2 decimals", field)
    return amount.quantize(Decimal("0.01"))


def _voucher_date(body: dict[str, Any]) -> date:
    raw = body.get("VoucherDate")
    if not raw:
        raise invalid("The VoucherDate field is required.", "VoucherDate")
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise invalid(f"VoucherDate {raw!r} is not a date (yyyy-mm-dd)", "VoucherDate") from None


def _parse_rows(body: dict[str, Any]) -> list[VoucherRow]:
    rows = body.get("Rows")
    if not isinstance(rows, list) or not rows:
        raise invalid("The Rows field is required.", "Rows")
    parsed = []
    for index, row in enumerate(rows):
        where = f"Rows[{index}]"
        check_properties(row, ROW_MEMBERS, where)
        number = row.get("AccountNumber")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 9_999_999_999:
            raise invalid("The AccountNumber field is required (an integer).", f"{where}.AccountNumber")
        text = row.get("TransactionText") or ""
        if len(text) > TRANSACTION_TEXT_MAX:
            raise invalid(
                f"TransactionText may be at most {TRANSACTION_TEXT_MAX} characters",
                f"{where}.TransactionText",
            )
        items = tuple(row.get(f"CostCenterItemId{n}") or None for n in (1, 2, 3))
        parsed.append(
            VoucherRow(
                number,
                _amount(row.get("DebitAmount"), f"{where}.DebitAmount"),
                _amount(row.get("CreditAmount"), f"{where}.CreditAmount"),
                text,
                items,  # type: ignore[arg-type]
            )
        )
    return parsed


def validate_voucher(company: Company, body: Any) -> tuple[date, str, list[VoucherRow], str]:
    """The voucher date, text, rows and fiscal year id, or the VismaError Visma would answer."""
    check_properties(body, VOUCHER_MEMBERS, "")
    text = body.get("VoucherText")
    if not isinstance(text, str) or not text:
        raise invalid("The VoucherText field is required.", "VoucherText")
    if len(text) > VOUCHER_TEXT_MAX:
        raise invalid(f"VoucherText may be at most {VOUCHER_TEXT_MAX} characters", "VoucherText")
    voucher_date = _voucher_date(body)
    rows = _parse_rows(body)
    debit, credit = sum(r.debit for r in rows), sum(r.credit for r in rows)
    if debit != credit:
        raise invalid(f"The voucher is not balanced: debit {debit:.2f}, credit {credit:.2f}", "Rows")
    year = company.year_for(voucher_date)
    if year is None:
        raise VismaError(400, FISCAL_YEAR_DOES_NOT_EXIST, f"No fiscal year exists for {voucher_date}")
    if year.is_locked_for_accounting:
        raise VismaError(
            400, VOUCHER_DATE_IN_LOCKED_YEAR, f"Voucher date {voucher_date} is in a locked fiscal year"
        )
    locked = company.accounting_locked_to
    if locked is not None and voucher_date <= locked:
        raise VismaError(
            400,
            VOUCHER_DATE_IN_LOCKED_PERIOD,
            f"Voucher date {voucher_date} is in a locked period (locked to {locked})",
        )
    for index, row in enumerate(rows):
        account = company.accounts.get((year.id, row.account))
        if account is None:
            raise VismaError(
                400,
                ACCOUNT_NOT_FOUND,
                f"Account {row.account} was not found in the fiscal year of the voucher",
            )
        if not account.is_active:
            raise invalid(f"Account {row.account} is not active", f"Rows[{index}].AccountNumber")
        for slot, item_id in enumerate(row.cost_center_items, start=1):
            if item_id is None:
                continue
            item = company.cost_center_item(item_id)
            if item is None:
                raise VismaError(400, RESOURCE_NOT_FOUND, f"Cost center item {item_id} was not found")
            if not account.is_cost_center_allowed:
                raise invalid(
                    f"Cost center is not allowed on account {row.account}",
                    f"Rows[{index}].CostCenterItemId{slot}",
                )
            if not item.is_active:
                raise VismaError(400, INACTIVE_COST_CENTER, f"Cost center item {item.short_name} is inactive")
        if account.is_first_cost_center_mandatory and row.cost_center_items[0] is None:
            raise invalid(
                f"A cost center is mandatory on account {row.account}", f"Rows[{index}].CostCenterItemId1"
            )
    return voucher_date, text, rows, year.id


@bp.post("/vouchers")
@endpoint("ea:accounting")
def create_voucher(company: Company) -> Response:
    body = read_json()
    voucher_date, text, rows, year_id = validate_voucher(company, body)
    series = DEFAULT_SERIES
    if request.args.get("useDefaultVoucherSeries", "true").lower() == "false":
        series = str(body.get("NumberSeries") or "").strip()
        if not re.fullmatch(r"[A-Z]{1,2}", series):
            raise invalid("NumberSeries must be one or two capital letters", "NumberSeries")
    state = sandbox_state()
    voucher = Voucher(
        new_id(),
        year_id,
        series,
        company.next_number(year_id, series),
        voucher_date,
        text,
        rows,
        state.clock.now(),
    )
    company.vouchers[voucher.id] = voucher
    state.stats["vouchers"] += 1
    return answer(voucher_body(company, voucher), 201)


@bp.get("/vouchers")
@endpoint("ea:accounting", "ea:accounting_readonly")
def list_vouchers(company: Company) -> Response:
    return _voucher_list(company, company.vouchers.values())


@bp.get("/vouchers/<year_id>")
@endpoint("ea:accounting", "ea:accounting_readonly")
def list_vouchers_of_year(company: Company, year_id: str) -> Response:
    if year_id not in company.fiscal_years:
        raise VismaError(400, FISCAL_YEAR_DOES_NOT_EXIST, f"Fiscal year {year_id} does not exist")
    return _voucher_list(company, (v for v in company.vouchers.values() if v.fiscal_year_id == year_id))


@bp.get("/vouchers/<year_id>/<voucher_id>")
@endpoint("ea:accounting", "ea:accounting_readonly")
def get_voucher(company: Company, year_id: str, voucher_id: str) -> Response:
    voucher = company.vouchers.get(voucher_id)
    if voucher is None or voucher.fiscal_year_id != year_id:
        raise VismaError(404, RESOURCE_NOT_FOUND, "Voucher not found")
    return answer(voucher_body(company, voucher))


def _voucher_list(company: Company, vouchers: Any) -> Response:
    ordered = sorted(vouchers, key=lambda v: (v.voucher_date, v.series, v.number))
    if request.args.get("$filter"):
        keep = parse_filter(request.args["$filter"], VOUCHER_FILTER_FIELDS)
        ordered = [
            v
            for v in ordered
            if keep(
                {
                    "VoucherDate": v.voucher_date,
                    "CreatedUtc": v.created,
                    "ModifiedUtc": v.created,
                    "NumberSeries": v.series,
                    "Number": v.number,
                }
            )
        ]
    return paginate([voucher_body(company, voucher) for voucher in ordered])


def voucher_body(company: Company, voucher: Voucher) -> dict[str, Any]:
    rows = []
    for row in voucher.rows:
        account = company.accounts[(voucher.fiscal_year_id, row.account)]
        rows.append(
            {
                "AccountNumber": row.account,
                "AccountDescription": account.name,
                "DebitAmount": row.debit,
                "CreditAmount": row.credit,
                "TransactionText": row.text,
                "CostCenterItemId1": row.cost_center_items[0],
                "CostCenterItemId2": row.cost_center_items[1],
                "CostCenterItemId3": row.cost_center_items[2],
                "VatCodeId": None,
                "VatCodeAndPercent": None,
                "ProjectId": None,
            }
        )
    return {
        "Id": voucher.id,
        "VoucherDate": voucher.voucher_date.isoformat(),
        "VoucherText": voucher.text,
        "Rows": rows,
        "NumberAndNumberSeries": f"{voucher.series}{voucher.number}",
        "NumberSeries": voucher.series,
        "VoucherType": voucher.voucher_type,
        "SourceId": None,
        "ImportedVoucherNumber": None,
        "Attachments": {
            "DocumentId": voucher.id,
            "DocumentType": DOCUMENT_TYPE_VOUCHER,
            "AttachmentIds": list(voucher.attachment_ids),
        },
        "CreatedUtc": utc_text(voucher.created),
        "ModifiedUtc": utc_text(voucher.created),
    }


# -- attachments -----------------------------------------------------------------------------------------


@bp.post("/attachments")
@endpoint("ea:purchase", "ea:accounting")
def create_attachment(company: Company) -> Response:
    body = check_properties(read_json(), ["Id", "ContentType", "FileName", "Data", "Url", "Comment"], "")
    content_type = body.get("ContentType")
    if content_type not in ATTACHMENT_TYPES:
        raise invalid(f"ContentType must be one of {', '.join(ATTACHMENT_TYPES)}", "ContentType")
    file_name = body.get("FileName") or ""
    if not _FILE_NAME.match(file_name):
        raise invalid("FileName may have letters, numbers and - _ ( ) only (at most 200)", "FileName")
    if body.get("Url"):
        raise invalid("Url uploads are not supported by the sandbox: send Data", "Url")
    try:
        data = base64.b64decode(body.get("Data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Data is not base64", "Data") from None
    if not data:
        raise invalid("The Data field is required.", "Data")
    attachment_id = body.get("Id") or new_id()
    if attachment_id in company.attachments:
        raise VismaError(400, CONFLICT, f"Attachment {attachment_id} already exists")
    attachment = Attachment(
        attachment_id, file_name, content_type, data, sandbox_state().clock.now(), body.get("Comment") or ""
    )
    company.attachments[attachment.id] = attachment
    return answer(attachment_body(attachment), 201)


@bp.get("/attachments")
@endpoint("ea:purchase", "ea:purchase_readonly", "ea:accounting", "ea:accounting_readonly")
def list_attachments(company: Company) -> Response:
    include_matched = request.args.get("includeMatched", "true").lower() != "false"
    found = [a for a in company.attachments.values() if include_matched or a.document_id is None]
    return paginate([attachment_body(a) for a in sorted(found, key=lambda a: a.uploaded)])


@bp.get("/attachments/<attachment_id>")
@endpoint("ea:purchase", "ea:purchase_readonly", "ea:accounting", "ea:accounting_readonly")
def get_attachment(company: Company, attachment_id: str) -> Response:
    attachment = company.attachments.get(attachment_id)
    if attachment is None:
        raise VismaError(404, RESOURCE_NOT_FOUND, "Attachment not found")
    return answer(attachment_body(attachment))


def attachment_body(attachment: Attachment) -> dict[str, Any]:
    return {
        "Id": attachment.id,
        "ContentType": attachment.content_type,
        "DocumentId": attachment.document_id,
        "AttachedDocumentType": attachment.document_type,
        "FileName": attachment.file_name,
        "TemporaryUrl": f"{request.host_url}_sandbox/attachments/{attachment.id}",
        "Comment": attachment.comment,
        "AttachmentStatus": 0 if attachment.document_id else 1,
        "ImageDate": utc_text(attachment.uploaded),
        "Type": 2,
    }


@bp.post("/attachmentlinks")
@endpoint("ea:accounting", "ea:purchase")
def link_attachments(company: Company) -> Response:
    body = check_properties(read_json(), ("DocumentId", "DocumentType", "AttachmentIds"), "")
    if body.get("DocumentType") != DOCUMENT_TYPE_VOUCHER:
        raise invalid("The sandbox links attachments to vouchers only (DocumentType 3)", "DocumentType")
    ids = body.get("AttachmentIds")
    if not isinstance(ids, list) or not ids:
        raise invalid("The AttachmentIds field is required.", "AttachmentIds")
    voucher = company.vouchers.get(str(body.get("DocumentId")))
    if voucher is None:
        raise VismaError(400, ITEM_TO_ATTACH_NOT_FOUND, f"Document {body.get('DocumentId')} was not found")
    for attachment_id in ids:
        attachment = company.attachments.get(str(attachment_id))
        if attachment is None:
            raise VismaError(400, RESOURCE_NOT_FOUND, f"Attachment {attachment_id} was not found")
        if attachment.document_id not in (None, voucher.id):
            raise VismaError(400, CONFLICT, f"Attachment {attachment_id} is linked to another document")
    for attachment_id in ids:
        attachment = company.attachments[str(attachment_id)]
        attachment.document_id, attachment.document_type = voucher.id, DOCUMENT_TYPE_VOUCHER
        if attachment.id not in voucher.attachment_ids:
            voucher.attachment_ids.append(attachment.id)
    return answer({"DocumentId": voucher.id, "DocumentType": DOCUMENT_TYPE_VOUCHER, "AttachmentIds": ids})
