"""The alert for a run that failed: raised by whatever saw the failure (the CLI's run, or the
Dagster run-failure sensor for runs launched from the UI or a schedule), since a failed run
never reaches its own alerts step. The next run that reaches that step resolves it (its rules
no longer find it), so the failure is told once and its end is told too.

Raising it must never fail in turn: when the warehouse cannot be written (held, broken, on a
full disk) the notification is still sent, just without being kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import Any

import duckdb

from orchestration.lib.alerts.engine import (
    STATE_DDL,
    Finding,
    apply,
    configured_channels,
    deliver,
)
from orchestration.lib.alerts.notify import Alert, Delivery, send_email, send_webhook
from orchestration.lib.run_lock import WarehouseBusyError, run_lock
from orchestration.lib.settings import AlertDelivery, Settings

log = logging.getLogger("campaign_analytics.alerts")

RUN_FAILED = "run_failed"
# The failed run has let go of the lock. Another run may hold it for hours: then the alert is
# sent without being kept, rather than keep a sensor (60 s budget) waiting.
LOCK_WAIT_SECONDS = 5.0


def is_run_failed(rule: str) -> bool:
    return rule == RUN_FAILED


def end_run_failure(con: duckdb.DuckDBPyConnection, delivery: AlertDelivery,
                    now: dt.datetime) -> bool:
    """A run about to publish: resolve the failure before it, so the copy being published
    says so, and queue the news; `deliver` it once the copy is out, or `reopen_run_failure`
    if publishing fails (the failure goes on: nobody is told twice). Whether one was open."""
    con.execute(STATE_DDL)
    con.begin()
    changes = apply(con, [], now, configured_channels(delivery), judged=is_run_failed)
    con.commit()
    return bool(changes.resolved)


def reopen_run_failure(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> None:
    con.begin()
    con.execute("UPDATE marts.alerts SET resolved_at = NULL WHERE rule = ? AND resolved_at = ?",
                [RUN_FAILED, now])
    con.execute("DELETE FROM alerting.notifications WHERE rule = ? AND state = 'resolved' "
                "AND queued_at = ? AND sent_at IS NULL", [RUN_FAILED, now])
    con.commit()


def run_failed_finding(job: str, run_id: str | None, cause: str) -> Finding:
    which = f"run {run_id[:8]} failed" if run_id else "run failed before it started"
    return Finding(
        RUN_FAILED, "pipeline", "error", None, None, None, None,
        f"The {job} {which}: {cause}",
        "Nothing new was published by it. Fix the cause named, then run again "
        "(`campaign-analytics run`, or re-execute it in the Dagster UI); the next run that "
        "gets through resolves this alert.")


def record_run_failure(settings: Settings, job: str, run_id: str | None, cause: str,
                       now: dt.datetime | None = None) -> list[Delivery]:
    """Raise (or keep open) the run_failed alert in the warehouse and tell people; if the
    warehouse cannot be written, tell people anyway. Never raises."""
    now = now or dt.datetime.now(dt.UTC)
    finding = run_failed_finding(job, run_id, cause)
    delivery = settings.alert_delivery
    channels = configured_channels(delivery)
    try:
        with run_lock(settings.warehouse_path, wait_seconds=LOCK_WAIT_SECONDS), \
                duckdb.connect(str(settings.warehouse_path)) as con:
            con.execute(STATE_DDL)
            con.begin()
            apply(con, [finding], now, channels, judged=is_run_failed)
            con.commit()
            return deliver(con, delivery, now)
    except (WarehouseBusyError, duckdb.Error, OSError) as error:
        log.warning("the run_failed alert could not be kept in the warehouse (%s); "
                    "sending it without keeping it", type(error).__name__)
    alert = Alert(finding.rule, finding.severity, "fired", finding.message, finding.advice, now)
    senders = {"webhook": send_webhook, "email": send_email}
    return [senders[channel](delivery, alert) for channel in channels]


# Why a run failed, in words: the CLI prints it and the run_failed alert says it.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failure_cause(events: Iterable[Any],
                  default: str = "see the log above") -> str:
    """The first failure among a run's Dagster events as the thing to fix, not the op that
    raised it: the lock holder, the cast that failed, the dbt node and its error; else `default`."""
    for event in events:
        error = _error_of(event)
        if error is None:
            continue
        while error.cause is not None:  # "Error occurred while executing op" wraps the cause
            error = error.cause
        where = f"{event.step_key}: " if event.step_key else ""
        return where + _first_words(error.message)
    return default


def _error_of(event: Any) -> Any:
    data = event.event_specific_data
    if event.is_step_failure and data is not None:
        return data.error
    if event.event_type_value in ("RUN_FAILURE", "ENGINE_EVENT", "RESOURCE_INIT_FAILURE"):
        return getattr(data, "error", None)
    return None


def _first_words(message: str) -> str:
    message = _ANSI.sub("", message)
    if "Errors parsed from dbt logs:" in message:
        lines = [line.strip() for line in message.split("Errors parsed from dbt logs:", 1)[1]
                 .splitlines() if line.strip()]
        for number, line in enumerate(lines):
            if re.match(r"(Failure|\w+ Error) in ", line):
                detail = next((d for d in lines[number + 1:] if not d.startswith(("compiled",
                              ">"))), "")
                return f"dbt: {line} {detail}".strip()
        return "dbt: " + (lines[0] if lines else "failed")
    first = next((line.strip() for line in message.splitlines() if line.strip()), message)
    # "package.module.SomeError: what happened" -> "what happened"
    return re.sub(r"^[\w.]+(Error|Exception|Failure)\w*: ", "", first)
