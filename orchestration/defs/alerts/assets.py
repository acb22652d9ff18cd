"""`marts/alerts`: the alert rules judged after every build (the daily run and each intraday
refresh), their state kept, and people told of each change (orchestration/lib/alerts)."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from orchestration.defs.alerts.pipeline import pipeline_findings
from orchestration.defs.dbt.assets import warehouse_models
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.alerts.engine import (
    STATE_DDL,
    apply,
    configured_channels,
    deliver,
    evaluate,
)
from orchestration.lib.alerts.run_failure import is_run_failed
from orchestration.lib.rules import alert_thresholds

ALERTS_KEY = dg.AssetKey(["marts", "alerts"])


@dg.asset(
    key=ALERTS_KEY,
    deps=[key for key in warehouse_models.keys if key.path[0] == "marts"],
    group_name="alerts",
    kinds={"duckdb", "python"},
    pool=WRITER_POOL,
    description="Every alert: rule, campaign, severity, measured value, threshold, message, "
    "first seen, last seen, resolved at. Rules: the thresholds file (seed health_thresholds).",
)
def alerts(context: dg.AssetExecutionContext,
           warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    now = dt.datetime.now(dt.UTC)
    with warehouse.connect() as con:
        findings = evaluate(con) + pipeline_findings(con, now)
        con.begin()
        delivery = warehouse.settings.alert_delivery
        # Queued for the channels set now: with none, alerts are kept in the warehouse only.
        # run_failed is not judged here: the run can still fail after this step (publish
        # resolves it).
        changes = apply(con, findings, now, configured_channels(delivery),
                        judged=lambda rule: not is_run_failed(rule))
        con.commit()
        # After the commit: a notification that cannot be sent stays queued, the state stands.
        outcomes = deliver(con, delivery, now)
        open_alerts = con.execute(
            "SELECT count(*) FROM marts.alerts WHERE resolved_at IS NULL").fetchone()[0]
        waiting = con.execute(
            "SELECT count(*) FROM alerting.notifications WHERE sent_at IS NULL "
            "AND dead_at IS NULL").fetchone()[0]
    for alert in changes.fired:
        context.log.warning("alert %s", alert.headline)
    for alert in changes.resolved:
        context.log.info("alert %s", alert.headline)
    failed = [o for o in outcomes if not o.sent]
    if failed:
        context.log.warning("%d alert notification(s) could not be sent (%s); they are tried "
                            "again on the next run", len(failed),
                            ", ".join(sorted({f"{o.channel}: {o.error}" for o in failed})))
    return dg.MaterializeResult(metadata={
        "open": open_alerts, "fired": len(changes.fired), "resolved": len(changes.resolved),
        "still_holding": changes.holding,
        "notifications_sent": sum(o.sent for o in outcomes),
        "notifications_waiting": waiting,
    })


# One Dagster asset check per alert rule, on the channel's performance mart: failed while the
# rule's alert is open, at its severity (a warning keeps the run green).
PERFORMANCE_MARTS = {"sms": dg.AssetKey(["marts", "sms_campaign_performance"]),
                     "voice": dg.AssetKey(["marts", "voice_campaign_performance"])}
RULES = {row.alert_rule: row.channel for row in alert_thresholds()}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(rule, asset=PERFORMANCE_MARTS[channel], additional_deps=[ALERTS_KEY],
                             description=f"The alert rule {rule} (seed health_thresholds) is "
                             "not raised for the channel's latest campaign.")
           for rule, channel in RULES.items()],
    pool=WRITER_POOL,
)
def alert_rule_checks(context: dg.AssetCheckExecutionContext,
                      warehouse: dg.ResourceParam[Warehouse]) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect() as con:
        con.execute(STATE_DDL)  # a check run on its own, before any alert was judged
        open_alerts = {rule: rest for rule, *rest in con.execute(
            "SELECT rule, severity, campaign_id, measured_value, threshold, message "
            "FROM marts.alerts WHERE resolved_at IS NULL").fetchall()}
    for rule, channel in RULES.items():
        found = open_alerts.get(rule)
        metadata = {} if found is None else {
            "campaign_id": found[1], "measured_value": found[2], "threshold": found[3],
            "message": found[4]}
        yield dg.AssetCheckResult(
            asset_key=PERFORMANCE_MARTS[channel], check_name=rule, passed=found is None,
            severity=dg.AssetCheckSeverity.ERROR if found and found[0] == "error"
            else dg.AssetCheckSeverity.WARN,
            metadata=metadata)
