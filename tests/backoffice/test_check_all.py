"""The agency's "check all now": the page queues a background job, the scheduler's job function runs it
store by store with its progress, one runs per agency at a time, and nobody else sees or starts it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models import AuditEntry, PreflightResult, Store, utcnow
from backoffice.services import background
from backoffice.services.background import BackgroundJob
from tests.backoffice.factories import csrf_token, sign_in


def _check_all(client):
    token = csrf_token(client.get("/agency/").get_data(as_text=True))
    return client.post("/agency/check-all", data={"csrf_token": token}, follow_redirects=True)


def _run(app) -> int:
    state = app.extensions["dagskassa"]
    return background.run_queued(state["sessions"], state["fortnox"])


def _jobs(engine) -> list[BackgroundJob]:
    with Session(engine) as session:
        return list(session.scalars(select(BackgroundJob).order_by(BackgroundJob.id)))


def test_check_all_is_queued_then_run_with_its_progress(app, client, engine, world):
    with Session(engine) as session:
        session.add(Store(agency_id=world.agency_a, name="Byrå A Butik 2", org_number="556677-8808"))
        session.commit()
    sign_in(client, world.admin_a)
    page = _check_all(client).get_data(as_text=True)
    assert "Alla butiker kontrolleras i bakgrunden" in page
    assert "Kontrollen av alla butiker är köad" in page
    (job,) = _jobs(engine)
    assert (job.state, job.agency_id, job.active_key) == (
        "queued",
        world.agency_a,
        f"check_all:{world.agency_a}",
    )
    with Session(engine) as session:
        assert (
            session.scalar(select(func.count()).select_from(PreflightResult)) == 0
        )  # nothing ran in the request

    assert _run(app) == 1
    (job,) = _jobs(engine)
    assert (job.state, job.total, job.progress, job.failures, job.active_key) == ("done", 2, 2, 2, None)
    with Session(engine) as session:
        results = session.scalars(select(PreflightResult).order_by(PreflightResult.store_id)).all()
        # Neither store is connected to Fortnox: each has a failed connection check, saved as it ran.
        assert [r.ok for r in results] == [False, False]
        assert {r.store_id for r in results} >= {world.store_a}
        assert (
            session.scalar(select(Store.agency_id).where(Store.id == results[1].store_id)) == world.agency_a
        )
        assert (
            session.scalar(select(func.count()).where(AuditEntry.action == "preflight.check_all_requested"))
            == 1
        )
    status = client.get("/agency/check-all/status").json
    assert status["state"] == "done" and status["progress"] == 2 and status["failures"] == 2
    assert status["results"] == {str(r.store_id): False for r in results}
    assert "Alla 2 butiker kontrollerade" in client.get("/agency/").get_data(as_text=True)
    assert _run(app) == 0  # nothing queued any more


def test_a_second_click_finds_the_running_check(app, client, engine, world):
    sign_in(client, world.admin_a)
    _check_all(client)
    again = _check_all(client).get_data(as_text=True)
    assert "En kontroll av alla butiker pågår redan." in again
    assert len(_jobs(engine)) == 1
    # Running counts as well: claimed by the runner, a new click still finds it.
    with Session(engine) as session:
        job = session.scalars(select(BackgroundJob)).one()
        job.state, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
        session.commit()
    assert "pågår redan" in _check_all(client).get_data(as_text=True)
    assert len(_jobs(engine)) == 1
    assert _run(app) == 0  # a running job is not run a second time


def test_a_check_left_running_by_a_dead_process_gives_way(app, client, engine, world):
    sign_in(client, world.admin_a)
    _check_all(client)
    with Session(engine) as session:
        job = session.scalars(select(BackgroundJob)).one()
        long_ago = utcnow() - background.STALE_AFTER - timedelta(minutes=1)
        job.state, job.started_at, job.heartbeat_at = "running", long_ago, long_ago
        session.commit()
    assert "Alla butiker kontrolleras i bakgrunden" in _check_all(client).get_data(as_text=True)
    old, new = _jobs(engine)
    assert (old.state, old.active_key) == ("failed", None) and "stopped without finishing" in old.error
    assert new.state == "queued"


def test_the_job_of_one_agency_is_nobody_elses(app, client, engine, world):
    sign_in(client, world.admin_a)
    _check_all(client)
    sign_in(client, world.admin_b)
    assert client.get("/agency/check-all/status").json == {"state": None}
    assert "köad" not in client.get("/agency/").get_data(as_text=True)
    _check_all(client)  # agency B's own check is not held up by A's
    assert sorted(job.agency_id for job in _jobs(engine)) == sorted([world.agency_a, world.agency_b])
    sign_in(client, world.manager_a)
    token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert client.post("/agency/check-all", data={"csrf_token": token}).status_code == 404
    assert client.get("/agency/check-all/status").status_code == 404
    assert len(_jobs(engine)) == 2


def test_the_scheduler_runs_queued_jobs(app, client, engine, world):
    from backoffice.pipeline.service import Pipeline

    sign_in(client, world.admin_a)
    _check_all(client)
    pipeline = Pipeline(app.extensions["dagskassa"]["settings"], engine)
    assert pipeline.run_background_jobs() == 1
    assert [job.state for job in _jobs(engine)] == ["done"]


def test_a_dozen_stores_are_checked_in_parallel_each_once(app, client, engine, world):
    with Session(engine) as session:
        session.add_all(
            Store(agency_id=world.agency_a, name=f"Byrå A Butik {n}", org_number="556677-8808")
            for n in range(2, 13)
        )
        session.commit()
    sign_in(client, world.admin_a)
    _check_all(client)
    (job,) = _jobs(engine)
    state = app.extensions["dagskassa"]
    ended = background.run_check_all(state["sessions"], state["fortnox"], job.id, parallel=4)
    assert (ended.state, ended.total, ended.progress, ended.failures) == ("done", 12, 12, 12)
    with Session(engine) as session:
        checked = session.scalars(
            select(PreflightResult.store_id).join(Store).where(Store.agency_id == world.agency_a)
        ).all()
        assert len(checked) == len(set(checked)) == 12
        assert session.get(PreflightResult, world.store_b) is None  # the other agency's store untouched
    assert len(client.get("/agency/check-all/status").json["results"]) == 12
    assert (
        background.run_check_all(state["sessions"], state["fortnox"], job.id) is None
    )  # ended: not run again
