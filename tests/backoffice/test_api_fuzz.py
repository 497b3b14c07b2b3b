"""The register API fuzzed from its own OpenAPI document (schemathesis strategies, valid and invalid
data) and by mutating a valid Z-report field by field (hypothesis): never a 500, every refusal names
the field, and nothing is half-stored (an accepted report always has its export; a refused one changes
no accepted report)."""

from __future__ import annotations

import copy
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.api.openapi import openapi_document
from backoffice.models import Export, RefusedReport, Store, User, ZReportRecord
from tests.backoffice.factories import enrolled_token, z_report

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def device(engine, world) -> str:
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, store, manager)
        session.commit()
        return token


def _counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        reports = session.scalar(select(func.count()).select_from(ZReportRecord))
        exports = session.scalar(select(func.count()).select_from(Export))
        without_export = session.scalar(
            select(func.count()).select_from(ZReportRecord).where(~ZReportRecord.exports.any())
        )
        return reports, exports, without_export


def _check(response, before, after) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        errors = response.json["errors"]
        assert errors and all(error["field"] and error["message"] for error in errors), errors
    if response.status_code != 201:
        assert after[:2] == before[:2], "a refused or repeated report changed the stored ones"
    else:
        assert after[0] == before[0] + 1 and after[1] == before[1] + 1
    assert after[2] == 0, "a stored report without its export"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_z_reports_fuzzed_from_the_openapi_document(client, engine, device, mode):
    operation = SCHEMA["/api/v1/z-reports"]["POST"]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://localhost")
        headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {device}"}
        body = kwargs.get("json", kwargs.get("data"))
        data = json.dumps(body) if "json" in kwargs else body
        before = _counts(engine)
        response = client.post("/api/v1/z-reports", data=data, headers=headers)
        _check(response, before, _counts(engine))

    run()


def test_enroll_fuzzed_from_the_openapi_document(client):
    operation = SCHEMA["/api/v1/enroll"]["POST"]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def run(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://localhost")
        body = kwargs.get("json", kwargs.get("data"))
        response = client.post(
            "/api/v1/enroll",
            data=json.dumps(body) if "json" in kwargs else body,
            headers=kwargs.get("headers") or {},
        )
        assert response.status_code == 422
        assert all(error["field"] for error in response.json["errors"])

    run()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=30) | st.just("1.005"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every path into a JSON document (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PATHS = [path for path in _paths(z_report(1)) if path]


@st.composite
def mutated_reports(draw):
    """A valid report with one to three fields replaced, removed, or the Z number reused."""
    report = z_report(draw(st.integers(1, 4)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = report
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JSON_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    return report


def test_mutated_reports_never_half_store(client, engine, device):
    @FUZZ
    @given(report=mutated_reports())
    def run(report) -> None:
        before = _counts(engine)
        response = client.post(
            "/api/v1/z-reports",
            data=json.dumps(copy.deepcopy(report)),
            headers={"Authorization": f"Bearer {device}"},
        )
        _check(response, before, _counts(engine))

    run()
    with Session(engine) as session:
        kept = session.scalar(select(func.count()).select_from(RefusedReport))
    assert kept > 0  # the refusals were kept for review
