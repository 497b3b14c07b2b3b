"""The inbox (scope ``inbox``) and voucher file connections (scope ``connectfile``): how a Z-report PDF
reaches a voucher in Fortnox. A file is uploaded to the inbox (``POST /3/inbox``, multipart), then
connected to a voucher by its FileId (``POST /3/voucherfileconnections?financialyear=``).

From the reference (FACTS.md sections 1, 2 and 4, the spec's ``VoucherFileConnection``): the paths, the
scopes, the multipart upload with ``Accept: application/json``, the connection's fields (FileId,
VoucherSeries, VoucherNumber as a string; VoucherDescription and VoucherYear filled by Fortnox, the year
chosen by ``?financialyear=``), a connection looked up and removed by its FileId (so one per file), the
``File`` answer's fields (``@url, Comments, Id, Name, Path, Size, ArchiveFileId``, as client libraries
model them).

OUR GUESSES (not documented or recorded): the folder ids (``inbox_v`` Verifikationer, ``inbox_s``
Leverantörsfakturor; the root when none is named), the multipart field name ``file``, ``GET /3/inbox/{Id}``
answering the file's bytes, the 20 MB limit, 201 on upload, and the status and codes of every refusal
here (2099023-2099026, see errors.py): a missing file or voucher is a 404, a file already connected a 400.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request

from exporters.fortnox.sandbox import errors
from exporters.fortnox.sandbox.api import answer, bp, endpoint, paginate, read_body, url, year_arg
from exporters.fortnox.sandbox.books import FileConnection, InboxFile, Tenant
from exporters.fortnox.sandbox.errors import ApiError, invalid, not_found

ROOT = "root"
#: Inbox folders by id (our guess at Fortnox's ids) and the name Fortnox shows.
FOLDERS = {ROOT: "Inkorg", "inbox_v": "Verifikationer", "inbox_s": "Leverantörsfakturor"}
MAX_FILE_BYTES = 20 * 1024 * 1024


def file_json(found: InboxFile) -> dict[str, Any]:
    return {
        "@url": url(f"inbox/{found.id}"),
        "ArchiveFileId": found.archive_file_id,
        "Comments": None,
        "Id": found.id,
        "Name": found.name,
        "Path": found.folder,
        "Size": len(found.data),
    }


def _folder() -> str:
    folder = request.args.get("folderId") or request.args.get("path") or ROOT
    if folder not in FOLDERS:
        raise not_found(errors.FOLDER_NOT_FOUND, f"Kan inte hitta mappen ({folder}).")
    return folder


@bp.post("/inbox")
@endpoint("inbox", body_type="multipart/form-data")
def upload(tenant: Tenant) -> Response:
    folder = _folder()
    part = request.files.get("file")
    if part is None or not part.filename:
        raise invalid(errors.FILE_INVALID, "Ingen fil skickades med anropet (fältet file)")
    data = part.read()
    if not data:
        raise invalid(errors.FILE_INVALID, f"Filen {part.filename} är tom")
    if len(data) > MAX_FILE_BYTES:
        raise invalid(errors.FILE_INVALID, f"Filen {part.filename} är större än 20 MB")
    stored = InboxFile(
        id=str(uuid.uuid4()),
        name=part.filename,
        folder=folder,
        data=data,
        content_type=part.mimetype or "application/octet-stream",
        archive_file_id=str(uuid.uuid4()),
    )
    tenant.files[stored.id] = stored
    return answer({"File": file_json(stored)}, 201, "inbox")


@bp.get("/inbox")
@endpoint("inbox")
def folder(tenant: Tenant) -> Response:
    """A folder with the files in it that are not yet connected to a voucher."""
    folder_id = _folder()
    files = [
        file_json(found)
        for found in tenant.files.values()
        if found.folder == folder_id and found.id not in tenant.file_connections
    ]
    subfolders = [] if folder_id != ROOT else [{"Id": key, "Name": name} for key, name in FOLDERS.items()][1:]
    return answer(
        {
            "Folder": {
                "@url": url(f"inbox?folderId={folder_id}"),
                "Email": f"inbox.{tenant.database_number}@sandbox.invalid",
                "Files": files,
                "Folders": subfolders,
                "Id": folder_id,
                "Name": FOLDERS[folder_id],
            }
        }
    )


@bp.get("/inbox/<file_id>")
@endpoint("inbox")
def download(tenant: Tenant, file_id: str) -> Response:
    found = _file(tenant, file_id)
    return Response(found.data, mimetype=found.content_type)


def _file(tenant: Tenant, file_id: str) -> InboxFile:
    found = tenant.files.get(file_id)
    if found is None:
        raise not_found(errors.FILE_NOT_FOUND, "Kan inte hitta filen.")
    return found


# -- voucher file connections ----------------------------------------------------------------------------


def connection_json(tenant: Tenant, connection: FileConnection) -> dict[str, Any]:
    voucher = tenant.vouchers[(connection.year, connection.series, connection.number)]
    return {
        "@url": url(f"voucherfileconnections/{connection.file_id}"),
        "FileId": connection.file_id,
        "VoucherDescription": voucher.description,
        "VoucherNumber": str(connection.number),
        "VoucherSeries": connection.series,
        "VoucherYear": connection.year,
    }


@bp.post("/voucherfileconnections")
@endpoint("connectfile")
def connect(tenant: Tenant) -> Response:
    fields = read_body("VoucherFileConnection", "VoucherFileConnection")
    year = year_arg(tenant)
    file_id = fields["FileId"]
    _file(tenant, file_id)
    number = str(fields["VoucherNumber"])
    if not number.isdigit():
        raise invalid(errors.NOT_NUMERIC, "VoucherNumber måste vara numeriskt")
    key = (year.id, fields["VoucherSeries"], int(number))
    if key not in tenant.vouchers:
        raise not_found(errors.VOUCHER_NOT_FOUND, "Kan inte hitta verifikationen.")
    existing = tenant.file_connections.get(file_id)
    if existing is not None:
        raise ApiError(
            400,
            errors.FILE_ALREADY_CONNECTED,
            f"Filen är redan kopplad till verifikation {existing.series} {existing.number}",
        )
    connection = FileConnection(file_id, *key)
    tenant.file_connections[file_id] = connection
    return answer(
        {"VoucherFileConnection": connection_json(tenant, connection)}, 201, "voucherfileconnections"
    )


@bp.get("/voucherfileconnections")
@endpoint("connectfile")
def connections(tenant: Tenant) -> Response:
    found = [connection_json(tenant, c) for c in tenant.file_connections.values()]
    return paginate(found, "VoucherFileConnections")


@bp.get("/voucherfileconnections/<file_id>")
@endpoint("connectfile")
def connection(tenant: Tenant, file_id: str) -> Response:
    return answer({"VoucherFileConnection": connection_json(tenant, _connection(tenant, file_id))})


@bp.delete("/voucherfileconnections/<file_id>")
@endpoint("connectfile")
def disconnect(tenant: Tenant, file_id: str) -> Response:
    del tenant.file_connections[_connection(tenant, file_id).file_id]
    return Response(status=204)


def _connection(tenant: Tenant, file_id: str) -> FileConnection:
    found = tenant.file_connections.get(file_id)
    if found is None:
        raise not_found(errors.FILE_NOT_FOUND, "Kan inte hitta filkopplingen.")
    return found
