"""Dagster resources: the provider's API and the DuckDB warehouse.

Unset fields fall back to the environment (and `.env`) through `load_settings`, which validates
every value and names the variable at fault. The token is never a resource field in the
Definitions, so it never shows in the Dagster UI; tests may pass the sandbox's explicitly.
"""


import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.lib import warehouse
from orchestration.lib.exotel import ExotelClient
from orchestration.lib.settings import Settings, load_settings

_OVERRIDES = {
    "base_url": "EXOTEL_BASE_URL",
    "account_sid": "EXOTEL_ACCOUNT_SID",
    "api_key": "EXOTEL_API_KEY",
    "api_token": "EXOTEL_API_TOKEN",
    "rate_limit_per_minute": "EXOTEL_RATE_LIMIT_PER_MINUTE",
    "account_timezone": "ACCOUNT_TIMEZONE",
    "dlr_finalization_hours": "DLR_FINALIZATION_HOURS",
    "warehouse_path": "WAREHOUSE_PATH",
    "published_path": "PUBLISHED_PATH",
    "publish_phone_numbers": "PUBLISH_PHONE_NUMBERS",
}


def _settings(fields: dict[str, object], *, require_credentials: bool) -> Settings:
    environ = dict(os.environ)
    for field, variable in _OVERRIDES.items():
        value = fields.get(field)
        if value is not None:
            environ[variable] = str(value)
    return load_settings(environ, require_credentials=require_credentials)


class ExotelApiResource(dg.ConfigurableResource):
    """The account's campaign reporting API. Unset fields come from EXOTEL_* variables."""

    base_url: str | None = None
    account_sid: str | None = None
    api_key: str | None = None
    api_token: str | None = None
    rate_limit_per_minute: int | None = None
    account_timezone: str | None = None
    dlr_finalization_hours: int | None = None

    def settings(self) -> Settings:
        return _settings(self.model_dump(), require_credentials=True)

    @contextmanager
    def open_client(self) -> Iterator[ExotelClient]:
        with ExotelClient.from_settings(self.settings()) as client:
            yield client


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (WAREHOUSE_PATH when unset) and its published read-only copy
    (PUBLISHED_PATH, PUBLISH_PHONE_NUMBERS)."""

    path: str | None = None
    published_path: str | None = None
    publish_phone_numbers: str | None = None
    # Measured with bench/ingest_scale: at 256MB peak RSS of an ingest is flat from 100k- to
    # 500k-message campaigns (532 -> 590 MiB); at DuckDB's default it grows (624 -> 1036 MiB).
    memory_limit: str = "256MB"

    def settings(self) -> Settings:
        return _settings({"warehouse_path": self.path, "published_path": self.published_path,
                          "publish_phone_numbers": self.publish_phone_numbers},
                         require_credentials=False)

    @property
    def resolved_path(self) -> Path:
        return self.settings().warehouse_path

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = warehouse.connect(self.resolved_path, read_only=read_only,
                                memory_limit=self.memory_limit)
        try:
            yield con
        finally:
            con.close()
