"""`raw/number_prefixes`: the original operator and region of every number the warehouse holds
(recipients pulled or called back, contacts loaded), looked up once per prefix
(orchestration/lib/audience/directory.py), before dbt builds the breakdowns by operator."""

import datetime as dt

import dagster as dg

from orchestration.defs.callbacks.assets import CALLBACKS_KEY
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.audience import directory

NUMBER_PREFIXES_KEY = dg.AssetKey(["raw", "number_prefixes"])
# Every number the warehouse holds, with when it landed: the prefixes of those landed since
# the last look-up are the only ones that can be new.
NUMBERS_SQL = """
    SELECT to_number AS number FROM raw.sms_messages WHERE loaded_at > $since
    UNION ALL SELECT to_number FROM raw.call_attempts WHERE loaded_at > $since
    UNION ALL SELECT phone FROM raw.contact_versions WHERE loaded_at > $since
    UNION ALL SELECT '+' || sms FROM raw.brevo_recipients WHERE loaded_at > $since
    UNION ALL SELECT '+' || phone_number FROM raw.brevo_transactional_events
        WHERE loaded_at > $since
"""


@dg.asset(
    key=NUMBER_PREFIXES_KEY,
    deps=[dg.AssetKey(["raw", "sms_messages"]), dg.AssetKey(["raw", "call_attempts"]),
          dg.AssetKey(["raw", "brevo_sms"]), CALLBACKS_KEY],
    group_name="raw",
    kinds={"duckdb", "python"},
    pool=WRITER_POOL,
    description="Per number prefix: the original operator and region (phonenumbers' carrier "
    "and geocoder data; a ported number keeps its original operator).",
)
def number_prefixes(context: dg.AssetExecutionContext,
                    warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    now = dt.datetime.now(dt.UTC)
    with warehouse.connect() as con:
        since = con.execute("SELECT coalesce(max(scanned_until), '-infinity'::TIMESTAMPTZ) "
                            "FROM raw.number_directory_scans").fetchone()[0]
        until = con.execute(
            "SELECT max(t) FROM (SELECT max(loaded_at) AS t FROM raw.sms_messages UNION ALL "
            "SELECT max(loaded_at) FROM raw.call_attempts UNION ALL "
            "SELECT max(loaded_at) FROM raw.contact_versions UNION ALL "
            "SELECT max(loaded_at) FROM raw.brevo_recipients UNION ALL "
            "SELECT max(loaded_at) FROM raw.brevo_transactional_events)").fetchone()[0]
        con.begin()
        looked_up = directory.update(con, NUMBERS_SQL, now, {"since": since})
        if until is not None:
            con.execute("INSERT INTO raw.number_directory_scans VALUES (?, ?)", [until, now])
        con.commit()
        held = con.execute("SELECT count(*) FROM raw.number_prefixes").fetchone()[0]
    context.log.info("looked up %d new number prefixes (%d held)", looked_up, held)
    return dg.MaterializeResult(metadata={"looked_up": looked_up, "prefixes": held})
