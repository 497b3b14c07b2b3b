from __future__ import annotations

import pytest

from config.logs import mask_secrets
from config.settings import SettingsError, load_settings


def test_defaults_load_without_a_file_or_environment():
    settings = load_settings(environ={})
    assert settings.database.url.startswith("sqlite:")
    assert settings.scheduler.timezone == "Europe/Stockholm"


def test_environment_wins_over_the_file(tmp_path):
    path = tmp_path / "dagskassa.toml"
    path.write_text(
        '[web]\nport = 9000\npublic_url = "https://kassa.example.se"\n[scheduler]\nenabled = false\n'
    )
    settings = load_settings(path, environ={"DAGSKASSA_WEB_PORT": "9100"})
    assert settings.web.port == 9100
    assert settings.web.public_url == "https://kassa.example.se"
    assert settings.scheduler.enabled is False


def test_the_config_file_can_be_named_by_the_environment(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("[fortnox]\nclient_id = 'abc'\n")
    assert load_settings(environ={"DAGSKASSA_CONFIG": str(path)}).fortnox.client_id == "abc"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DAGSKASSA_WEB_PORT": "eighty"}, "DAGSKASSA_WEB_PORT"),
        ({"DAGSKASSA_WEB_PORT": "70000"}, "web.port"),
        ({"DAGSKASSA_SCHEDULER_TIMEZONE": "Mars/Olympus"}, "scheduler.timezone"),
        ({"DAGSKASSA_SCHEDULER_NIGHTLY_CHECK_AT": "25:00"}, "scheduler.nightly_check_at"),
        ({"DAGSKASSA_DATABASE_URL": "mysql://x"}, "database.url"),
        ({"DAGSKASSA_FORTNOX_REQUESTS_PER_WINDOW": "30"}, "fortnox.requests_per_window"),
        ({"DAGSKASSA_WEB_PROT": "1"}, "DAGSKASSA_WEB_PROT"),
        ({"DAGSKASSA_CONFIG": "/nonexistent.toml"}, "DAGSKASSA_CONFIG"),
    ],
)
def test_a_wrong_setting_is_named(environ, named):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert caught.value.setting == named
    assert named in str(caught.value)


def test_unknown_names_in_the_file_are_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[web]\nprot = 1\n")
    with pytest.raises(SettingsError, match=r"web\.prot"):
        load_settings(path, environ={})


def test_secrets_are_masked_in_log_lines():
    line = 'refresh_token=abc123 client_secret: "s3cr3t" Authorization: Bearer eyJhbGci password=hunter2'
    masked = mask_secrets(line)
    for secret in ("abc123", "s3cr3t", "eyJhbGci", "hunter2"):
        assert secret not in masked
    assert "refresh_token=***" in masked
