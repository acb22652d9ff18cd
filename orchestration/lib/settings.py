"""Runtime configuration, read once from the environment (and a `.env` file, if present).

Every setting is validated at start, so a typo fails before any work is done, with a message
naming the variable to fix. The API token is held in `Secret`, whose text form is masked, so it
cannot leak through a log line, an exception or Dagster metadata by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_BASE_URL = "https://api.exotel.com"
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_TIMEZONE = "Asia/Kolkata"
DEFAULT_DLR_FINALIZATION_HOURS = 72
DEFAULT_RATE_LIMIT_PER_MINUTE = 200
DEFAULT_PUBLISHED_PATH = "data/published.duckdb"
DEFAULT_DAILY_RUN_CRON = "0 2 * * *"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret:
    """A string that never shows itself in `str`, `repr` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one run."""

    base_url: str
    account_sid: str
    api_key: str
    api_token: Secret = field(repr=False)
    warehouse_path: Path
    account_timezone: str
    dlr_finalization_hours: int
    rate_limit_per_minute: int
    published_path: Path = Path(DEFAULT_PUBLISHED_PATH)
    publish_phone_numbers: str = "masked"
    daily_run_cron: str = DEFAULT_DAILY_RUN_CRON


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | os.PathLike[str] | None = ".env",
    require_credentials: bool = True,
) -> Settings:
    """Read and validate the settings.

    Values in the process environment win over the `.env` file, so a CI secret or a one-off
    `EXOTEL_BASE_URL=... campaign-analytics sync` overrides what the file says.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def required(name: str) -> str:
        value = get(name)
        if value is None:
            if require_credentials:
                raise ConfigError(f"{name} is not set: put it in the environment or in .env")
            return ""
        return value

    base_url = get("EXOTEL_BASE_URL", DEFAULT_BASE_URL)
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"EXOTEL_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}, got {base_url!r}"
        )
    if parsed.username or parsed.password:
        # Credentials in the URL would end up in logs; they belong in the key/token variables.
        raise ConfigError(
            "EXOTEL_BASE_URL must not carry credentials: "
            "set EXOTEL_API_KEY and EXOTEL_API_TOKEN instead"
        )

    timezone = get("ACCOUNT_TIMEZONE", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"ACCOUNT_TIMEZONE must be an IANA time zone such as Asia/Kolkata, got {timezone!r}"
        ) from exc

    phone_numbers = get("PUBLISH_PHONE_NUMBERS", "masked").lower()
    if phone_numbers not in ("masked", "full"):
        raise ConfigError(
            f"PUBLISH_PHONE_NUMBERS must be 'masked' or 'full', got {phone_numbers!r}"
        )
    cron = get("DAILY_RUN_CRON", DEFAULT_DAILY_RUN_CRON)
    if len(cron.split()) != 5:
        raise ConfigError(
            f"DAILY_RUN_CRON must be a 5-field cron expression such as '0 2 * * *', got {cron!r}"
        )

    return Settings(
        base_url=base_url.rstrip("/"),
        account_sid=required("EXOTEL_ACCOUNT_SID"),
        api_key=required("EXOTEL_API_KEY"),
        api_token=Secret(required("EXOTEL_API_TOKEN")),
        warehouse_path=Path(get("WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)),
        account_timezone=timezone,
        dlr_finalization_hours=_positive_int(
            "DLR_FINALIZATION_HOURS", get("DLR_FINALIZATION_HOURS"), DEFAULT_DLR_FINALIZATION_HOURS
        ),
        rate_limit_per_minute=_positive_int(
            "EXOTEL_RATE_LIMIT_PER_MINUTE",
            get("EXOTEL_RATE_LIMIT_PER_MINUTE"),
            DEFAULT_RATE_LIMIT_PER_MINUTE,
            allow_zero=True,
        ),
        published_path=Path(get("PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH)),
        publish_phone_numbers=phone_numbers,
        daily_run_cron=cron,
    )


def _positive_int(name: str, raw: str | None, default: int, *, allow_zero: bool = False) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ConfigError(f"{name} must be {bound}, got {value}")
    return value
