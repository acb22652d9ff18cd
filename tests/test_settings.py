"""Configuration: defaults, .env, and errors that name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.lib.settings import ConfigError, Secret, load_settings

CREDENTIALS = {
    "EXOTEL_ACCOUNT_SID": "acme",
    "EXOTEL_API_KEY": "key-123",
    "EXOTEL_API_TOKEN": "tok-very-secret",
}


def test_defaults_apply_when_only_credentials_are_set() -> None:
    settings = load_settings(CREDENTIALS, dotenv_path=None)
    assert settings.base_url == "https://api.exotel.com"
    assert settings.warehouse_path == Path("data/warehouse.duckdb")
    assert settings.account_timezone == "Asia/Kolkata"
    assert settings.dlr_finalization_hours == 72
    assert settings.rate_limit_per_minute == 200
    assert settings.api_token.reveal() == "tok-very-secret"


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_a_missing_credential_is_named(name: str) -> None:
    env = {k: v for k, v in CREDENTIALS.items() if k != name}
    with pytest.raises(ConfigError, match=name):
        load_settings(env, dotenv_path=None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DLR_FINALIZATION_HOURS", "three days"),
        ("DLR_FINALIZATION_HOURS", "0"),
        ("EXOTEL_RATE_LIMIT_PER_MINUTE", "-5"),
        ("ACCOUNT_TIMEZONE", "Mars/Olympus_Mons"),
        ("EXOTEL_BASE_URL", "api.exotel.com"),
        ("EXOTEL_BASE_URL", "https://key:tok@api.exotel.com"),
    ],
)
def test_a_malformed_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**CREDENTIALS, name: value}, dotenv_path=None)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "EXOTEL_ACCOUNT_SID=from-file\nEXOTEL_API_KEY=k\nEXOTEL_API_TOKEN=t\n"
        "WAREHOUSE_PATH=/tmp/elsewhere.duckdb\nDLR_FINALIZATION_HOURS=48\n"
    )
    settings = load_settings({"EXOTEL_ACCOUNT_SID": "from-env"}, dotenv_path=dotenv)
    assert settings.account_sid == "from-env"
    assert settings.warehouse_path == Path("/tmp/elsewhere.duckdb")
    assert settings.dlr_finalization_hours == 48


def test_the_token_never_shows_in_text() -> None:
    settings = load_settings(CREDENTIALS, dotenv_path=None)
    for text in (str(settings), repr(settings), f"{settings.api_token}", str(settings.api_token)):
        assert "tok-very-secret" not in text
    assert Secret("a") == Secret("a")
