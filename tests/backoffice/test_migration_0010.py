"""Migration 0010 on a database with data: a day marked as booked by hand before such days were claimed is
claimed for ``manual`` (a day another channel holds keeps it), existing users are not asked to change
their password, and the downgrade takes it all back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from backoffice.db import make_engine
from backoffice.migrate import alembic_config, upgrade

ROWS = [
    "INSERT INTO agencies (id, name, created_at) VALUES (1, 'Byrå', '2026-01-01')",
    "INSERT INTO stores (id, agency_id, name, org_number, timezone, created_at) "
    "VALUES (1, 1, 'Butik', '556677-8899', 'Europe/Stockholm', '2026-01-01')",
    "INSERT INTO users (id, agency_id, email, name, password_hash, role, active, created_at) "
    "VALUES (1, 1, 'anna@example.se', '', 'x', 'agency_admin', 1, '2026-01-01')",
    "INSERT INTO registers (id, store_id, register_key, control_unit_id, token_hash, enrolled_at) "
    "VALUES (1, 1, 'Kassa 1', 'CU', 'h', '2026-01-01')",
]


def _day(number: int, day: str, state: str, ref: str | None) -> list[str]:
    return [
        "INSERT INTO z_reports (id, store_id, register_id, z_number, business_date, raw_json, content_hash, "
        "gross_sales, total_payments, missing_items, mapping_keys, received_at) "
        f"VALUES ({number}, 1, 1, {number}, '{day}', '{{}}', 'h{number}', 1, 1, '[]', '[]', '{day} 23:00:00')",
        "INSERT INTO exports (z_report_id, store_id, business_date, channel, state, attempts, created_at, "
        "updated_at, evidence, revision, forced, attachment_attempts, external_ref, posted_at) "
        f"VALUES ({number}, 1, '{day}', 'fortnox', '{state}', 0, '{day}', '{day}', '[]', 0, 0, 0, "
        f"{'NULL' if ref is None else repr(ref)}, '{day} 23:30:00')",
    ]


def test_days_marked_by_hand_are_claimed_and_the_downgrade_undoes_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0009")
    with engine.begin() as connection:
        for statement in [
            *ROWS,
            *_day(1, "2026-03-14", "posted", "marked by hand"),  # by hand: claimed for manual
            *_day(2, "2026-03-15", "posted", "marked by hand"),  # by hand, but the SIE file holds it
            *_day(3, "2026-03-16", "posted", "K 12"),  # posted by Dagskassa (claimed by 0004 back then)
            *_day(4, "2026-03-17", "ready", None),
            "INSERT INTO day_claims (store_id, business_date, channel, claimed_at, detail) "
            "VALUES (1, '2026-03-15', 'sie', '2026-03-20', 'SIE file by anna@example.se')",
        ]:
            connection.execute(text(statement))
    upgrade(engine)
    with engine.connect() as connection:
        claims = connection.execute(
            text("SELECT business_date, channel, detail FROM day_claims ORDER BY business_date")
        ).all()
        assert [(str(day), channel) for day, channel, _ in claims] == [
            ("2026-03-14", "manual"),
            ("2026-03-15", "sie"),
        ]
        assert "marked as booked by hand" in claims[0][2]
        assert connection.execute(text("SELECT must_change_password FROM users")).scalar() in (0, False)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT channel FROM day_claims")).scalars().all() == ["sie"]
        columns = [row[1] for row in connection.execute(text("PRAGMA table_info(users)"))]
        assert "must_change_password" not in columns
    engine.dispose()
