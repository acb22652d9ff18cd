"""Freshness of the raw tables: when did an ingest run last finish for each channel?

Freshness is read from `raw.ingest_runs`, not from the newest row of a raw table: a day on which
no campaign was new or pending adds no rows, yet the data is as fresh as it can be.
"""


import datetime as dt

import dagster as dg

from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.rules import FRESHNESS_MAX_AGE_HOURS


class FreshnessConfig(dg.Config):
    max_age_hours: float = FRESHNESS_MAX_AGE_HOURS


def _freshness(channel: str, asset_key: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset_key),
        name="freshness",
        description=f"The last {channel} ingest run finished within max_age_hours "
        f"(default {FRESHNESS_MAX_AGE_HOURS:g}).",
        pool=WRITER_POOL,  # DuckDB: a reader cannot open the file while a writer holds it
    )
    def _check(
        config: FreshnessConfig, warehouse: dg.ResourceParam[Warehouse]
    ) -> dg.AssetCheckResult:
        if not warehouse.settings.exotel_configured:
            return dg.AssetCheckResult(passed=True, metadata={"configured": False},
                                       description="Exotel is not configured (no EXOTEL_* "
                                       "credentials): nothing to keep fresh.")
        with warehouse.connect() as con:
            last = con.execute(
                "SELECT max(finished_at) FROM raw.ingest_runs WHERE channel = ?", [channel]
            ).fetchall()[0][0]
        if last is None:
            return dg.AssetCheckResult(passed=False, metadata={"last_run": "never"},
                                       description=f"No {channel} ingest run has finished yet.")
        age = dt.datetime.now(dt.UTC) - last
        hours = age.total_seconds() / 3600
        return dg.AssetCheckResult(
            passed=hours <= config.max_age_hours,
            metadata={"last_run_finished_at": last.isoformat(), "age_hours": round(hours, 2),
                      "max_age_hours": config.max_age_hours},
        )

    return _check


call_attempts_freshness = _freshness("voice", ["raw", "call_attempts"])
sms_messages_freshness = _freshness("sms", ["raw", "sms_messages"])
