"""``read_sie``: a whole SIE file as one :class:`SieFile`, for files that fit in memory."""

from __future__ import annotations

from exporters.sie.errors import SieError
from exporters.sie.model import Account, Balance, Record, SieFile, SieVoucher
from exporters.sie.reader import SieReader
from exporters.sie.text import Source, open_source, parse_date, parse_year


def read_sie(source: Source) -> SieFile:
    """Read a SIE file (a path, its bytes, or a binary stream) into a :class:`SieFile`.

    Every voucher is checked to balance and a #KSUMMA is verified; :class:`SieError` with the line
    number otherwise."""
    pieces, owned = open_source(source)
    reader = SieReader(pieces)
    sie = SieFile()
    try:
        for item in reader:
            if isinstance(item, SieVoucher):
                sie.vouchers.append(item)
            elif isinstance(item, Account):
                sie.accounts[item.number] = item.name
            elif isinstance(item, Balance):
                sie.balances.append(item)
            else:
                _identification(sie, item)
    except OSError as exc:
        raise SieError(0, f"cannot read the file: {exc}", "check the file") from exc
    finally:
        if owned is not None:
            owned.close()
    sie.checksum = reader.checksum
    sie.encoding = reader.encoding
    return sie


def _identification(sie: SieFile, record: Record) -> None:
    sie.records.append(record)
    if record.label == "KSUMMA":
        return
    label, line = record.label, record.line
    values = [value if isinstance(value, str) else "" for value in record.fields[:3]]
    first, second, third = values + [""] * (3 - len(values))
    if label == "SIETYP":
        sie.sie_type = first
    elif label == "PROGRAM":
        sie.program, sie.program_version = first, second
    elif label == "GEN":
        sie.generated = parse_date(first or '""', line, "the #GEN date")
    elif label == "FNAMN":
        sie.company_name = first
    elif label == "ORGNR":
        sie.org_number = first
    elif label == "VALUTA" and first:
        sie.currency = first
    elif label == "RAR":
        year = parse_year(first or '""', line)
        start, end = (parse_date(value or '""', line, "the #RAR date") for value in (second, third))
        sie.fiscal_years[year] = (start, end)
    elif label == "DIM":
        sie.dimensions[first] = second
    elif label == "OBJEKT":
        sie.objects[first, second] = third
