"""Alert rules evaluated on the marts, kept as state, and delivered once per change.

**Rules** are the rows of the thresholds file (dbt seed `health_thresholds`, the one the health
verdict reads): each row's `alert_rule` fires when its check does. Two rows of one rule (SMS
delivery below 92% is watch, below 90% investigate) make one alert, at the worse severity
(watch is a warning, investigate an error).

**What is judged**: each provider's and channel's latest campaign (by start) with at least
`alert_min_volume` outcomes (dbt var): the account as it is sending now. A provider other than
Exotel has its own alert per rule (`brevo_<rule>`). A campaign the provider suspended raises its
own alert (`<provider>_campaign_suspended_<campaign>`), whichever campaign is the latest.
A configuration problem (a DLT template that stopped matching) shows in the campaign being
sent; once a later campaign is clean, the alert resolves. A smaller campaign is too small to
judge.

**State, not spam** (`marts.alerts`): an alert fires once when its condition starts (a row
with `first_seen`), is updated while it holds (`last_seen`, the latest figure and campaign), and
resolves when it clears (`resolved_at`); a resolved alert can fire again (a new row). People are
told when an alert fires, when a warning becomes an error, and when it resolves; never while it
merely holds.

**Delivery never fails a run**: each notification is queued in `alerting.notifications`, one
row per channel, and sent; one that could not be sent stays queued with its reason and is tried
again on the next run, up to MAX_NOTIFICATION_RUNS runs, then kept as dead. A sender that
raises is recorded like one that failed: no notification can stop the others or the publish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import orjson

from orchestration.lib.alerts.notify import Alert, Delivery, send_email, send_webhook
from orchestration.lib.rules import (
    ALERT_MIN_VOLUME,
    SUSPENDED_CAMPAIGN_STATUS,
    SUSPENSION_ADVICE,
    HealthThreshold,
    alert_thresholds,
)
from orchestration.lib.settings import PROVIDER_NAMES, AlertDelivery

# Per channel: the performance mart, and how many outcomes a campaign has to be judged on.
CHANNEL_MARTS = {
    "sms": ("sms_campaign_performance", "messages_submitted + messages_rejected"),
    "voice": ("voice_campaign_performance", "contacts - contacts_pending"),
}
SEVERITY = {"watch": "warn", "investigate": "error"}

STATE_DDL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE IF NOT EXISTS marts.alerts (
    rule VARCHAR, channel VARCHAR, severity VARCHAR, campaign_id VARCHAR,
    campaign_name VARCHAR, measured_value DOUBLE, threshold DOUBLE, message VARCHAR,
    advice VARCHAR, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, resolved_at TIMESTAMPTZ
);
CREATE SCHEMA IF NOT EXISTS alerting;
CREATE TABLE IF NOT EXISTS alerting.notifications (
    rule VARCHAR, first_seen TIMESTAMPTZ, state VARCHAR, channel VARCHAR, alert JSON,
    queued_at TIMESTAMPTZ, sent_at TIMESTAMPTZ, attempts INTEGER, last_error VARCHAR
);
ALTER TABLE alerting.notifications ADD COLUMN IF NOT EXISTS runs_tried INTEGER DEFAULT 0;
ALTER TABLE alerting.notifications ADD COLUMN IF NOT EXISTS dead_at TIMESTAMPTZ;
"""
# A notification that could not be sent on this many runs is kept as dead (`alerts` shows it)
# and tried no more, so one that can never go out does not hold the others up for ever.
MAX_NOTIFICATION_RUNS = 5


@dataclass(frozen=True)
class Finding:
    """A rule whose condition holds now."""

    rule: str
    channel: str  # sms, voice, or pipeline
    severity: str
    campaign_id: str | None
    campaign_name: str | None
    measured: float | None
    threshold: float | None
    message: str
    advice: str


def _words(check: HealthThreshold, value: float) -> str:
    way = "below" if check.comparison == "below" else "at or above"
    return f"{check.label} {value:.1%} is {way} {check.threshold:.0%}"


def _hour_drop_words(con: duckdb.DuckDBPyConnection, provider: str, channel: str,
                     campaign_id: str, check: HealthThreshold) -> str:
    """The drop detector's finding in words: which hour, its rate and the usual one."""
    hour, rate, baseline, drop = con.execute(
        "SELECT hour_started_at_local, success_rate, baseline_rate, relative_drop "
        "FROM marts.hourly_success_rates WHERE provider = ? AND channel = ? AND campaign_id = ? "
        "AND relative_drop IS NOT NULL ORDER BY relative_drop DESC LIMIT 1",
        [provider, channel, campaign_id]).fetchone()
    what = "Delivery rate" if channel == "sms" else "First-attempt connect rate"
    return (f"{what} {rate:.1%} in the hour from {hour:%Y-%m-%d %H:00} (account time) is "
            f"{drop:.0%} below the account's {baseline:.1%} at that hour over the previous "
            f"7 days (alert at {check.threshold:.0%} below)")


def evaluate(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """The rules whose condition holds on each provider's and channel's latest campaign, and
    every campaign a provider suspended."""
    findings = []
    for channel, (mart, volume) in CHANNEL_MARTS.items():
        checks = [c for c in alert_thresholds() if c.channel == channel]
        metrics = sorted({c.metric for c in checks})
        # Campaigns only: API traffic (a transactional day) is not a campaign being sent.
        campaigns = "traffic_kind = 'campaign'" if channel == "sms" else "true"
        providers = [p for (p,) in con.execute(
            f"SELECT DISTINCT provider FROM marts.{mart} ORDER BY 1").fetchall()]
        for provider in providers:
            latest = con.execute(
                f"SELECT campaign_id, campaign_name, {', '.join(metrics)} FROM marts.{mart} "
                f"WHERE provider = ? AND {campaigns} AND {volume} >= ? "
                "AND started_at IS NOT NULL ORDER BY started_at DESC, campaign_id DESC LIMIT 1",
                [provider, ALERT_MIN_VOLUME]).fetchone()
            if latest is None:
                continue
            campaign_id, name, *values = latest
            measured = dict(zip(metrics, values, strict=True))
            for rule in dict.fromkeys(c.alert_rule for c in checks):
                fired = [c for c in checks
                         if c.alert_rule == rule and c.fires(measured[c.metric])]
                if not fired:
                    continue
                worst = max(fired, key=lambda c: c.level == "investigate")
                value = float(measured[worst.metric])
                words = (_hour_drop_words(con, provider, channel, campaign_id, worst)
                         if worst.metric.endswith("_hour_drop") else _words(worst, value))
                findings.append(Finding(
                    _rule_of(provider, rule), channel, SEVERITY[worst.level], campaign_id,
                    _named(provider, name), value, worst.threshold, words, worst.advice))
    return findings + _suspended(con)


def _rule_of(provider: str, rule: str) -> str:
    """Exotel's alerts keep the thresholds file's names; another provider's are its own."""
    return rule if provider == "exotel" else f"{provider}_{rule}"


def _named(provider: str, name: str | None) -> str | None:
    if provider == "exotel" or name is None:
        return name
    return f"{name} ({PROVIDER_NAMES.get(provider, provider)})"


def _suspended(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Each campaign a provider suspended, with the rates that got it suspended."""
    rows = con.execute(
        "SELECT provider, campaign_id, campaign_name, soft_bounce_rate, hard_bounce_rate, "
        "unsubscribe_rate FROM marts.sms_campaign_performance WHERE campaign_status = ? "
        "ORDER BY provider, campaign_id", [SUSPENDED_CAMPAIGN_STATUS]).fetchall()
    findings = []
    for provider, campaign_id, name, soft, hard, unsubscribed in rows:
        rates = ", ".join(f"{label} {value:.1%}" for label, value in (
            ("soft bounces", soft), ("hard bounces", hard), ("unsubscribes", unsubscribed))
            if value is not None)
        findings.append(Finding(
            f"{provider}_campaign_suspended_{campaign_id}", "sms", "error", campaign_id,
            _named(provider, name), None, None,
            f"{PROVIDER_NAMES.get(provider, provider)} suspended the campaign"
            + (f" ({rates})" if rates else ""), SUSPENSION_ADVICE))
    return findings


@dataclass(frozen=True)
class Changes:
    fired: list[Alert]
    resolved: list[Alert]
    holding: int


def apply(con: duckdb.DuckDBPyConnection, findings: list[Finding], now: dt.datetime,
          channels: tuple[str, ...] = ("webhook", "email"),
          judged: Callable[[str], bool] = lambda rule: True) -> Changes:
    """Bring `marts.alerts` up to date with `findings`; the alerts that fired or resolved,
    each queued for the delivery `channels` configured now. An open alert absent from
    `findings` resolves if its rule was `judged` (default: every rule)."""
    con.execute(STATE_DDL)
    open_rows = {rule: row for rule, *row in con.execute(
        "SELECT rule, severity, campaign_id, campaign_name, measured_value, threshold, message, "
        "advice FROM marts.alerts WHERE resolved_at IS NULL").fetchall()}
    fired, resolved, holding = [], [], 0
    for finding in findings:
        values = [finding.severity, finding.campaign_id, finding.campaign_name,
                  finding.measured, finding.threshold, finding.message, finding.advice]
        told = Alert(finding.rule, finding.severity, "fired", finding.message, finding.advice,
                     now, finding.campaign_id, finding.campaign_name, finding.measured,
                     finding.threshold)
        if finding.rule in open_rows:
            holding += 1
            con.execute(
                "UPDATE marts.alerts SET severity = ?, campaign_id = ?, campaign_name = ?, "
                "measured_value = ?, threshold = ?, message = ?, advice = ?, last_seen = ? "
                "WHERE rule = ? AND resolved_at IS NULL", [*values, now, finding.rule])
            # Holding is not news, but a warning that became an error is: people are told.
            if open_rows[finding.rule][0] == "warn" and finding.severity == "error":
                fired.append(replace(told, state="escalated"))
            continue
        con.execute("INSERT INTO marts.alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [finding.rule, finding.channel, *values, now, now])
        fired.append(told)
    still = {f.rule for f in findings}
    for rule, row in open_rows.items():
        if rule in still or not judged(rule):
            continue
        severity, campaign_id, name, measured, threshold, message, advice = row
        con.execute("UPDATE marts.alerts SET resolved_at = ? WHERE rule = ? AND "
                    "resolved_at IS NULL", [now, rule])
        resolved.append(Alert(rule, severity, "resolved", f"cleared (was: {message})", advice,
                              now, campaign_id, name, measured, threshold))
    for alert in (*fired, *resolved):
        _queue(con, alert, now, channels)
    return Changes(fired, resolved, holding)


def configured_channels(delivery: AlertDelivery) -> tuple[str, ...]:
    return tuple(name for name, on in (("webhook", bool(delivery.webhook_url)),
                                       ("email", bool(delivery.smtp_host))) if on)


def _queue(con: duckdb.DuckDBPyConnection, alert: Alert, now: dt.datetime,
           channels: tuple[str, ...]) -> None:
    record = orjson.dumps({**alert.__dict__, "at": alert.at.isoformat()}).decode()
    first_seen = con.execute("SELECT max(first_seen) FROM marts.alerts WHERE rule = ?",
                             [alert.rule]).fetchone()[0]
    for channel in channels:
        con.execute("INSERT INTO alerting.notifications (rule, first_seen, state, channel, "
                    "alert, queued_at, sent_at, attempts, last_error, runs_tried) "
                    "VALUES (?, ?, ?, ?, ?, ?, NULL, 0, NULL, 0)",
                    [alert.rule, first_seen, alert.state, channel, record, now])


Sender = Callable[..., Delivery]


def deliver(con: duckdb.DuckDBPyConnection, delivery: AlertDelivery, now: dt.datetime, *,
            senders: dict[str, Sender] | None = None, **options: Any) -> list[Delivery]:
    """Send every queued notification whose channel is configured; record each outcome. One
    queued for a channel configured no more stays queued (it goes out if it is set again)."""
    senders = senders or {"webhook": send_webhook, "email": send_email}
    configured = dict.fromkeys(configured_channels(delivery), True)
    queued = con.execute(
        "SELECT rowid, channel, alert, coalesce(runs_tried, 0) FROM alerting.notifications "
        "WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY queued_at, rowid").fetchall()
    outcomes = []
    for rowid, channel, record, runs_tried in queued:
        if not configured.get(channel):
            continue
        try:
            fields = orjson.loads(record)
            alert = Alert(**{**fields, "at": dt.datetime.fromisoformat(fields["at"])})
            outcome = senders[channel](delivery, alert, **options)
        except Exception as error:  # noqa: BLE001 - one notification never stops the rest
            outcome = Delivery(channel, False, 1, f"{type(error).__name__}: {error}"[:300])
        outcomes.append(outcome)
        dead = not outcome.sent and runs_tried + 1 >= MAX_NOTIFICATION_RUNS
        con.execute(
            "UPDATE alerting.notifications SET attempts = attempts + ?, last_error = ?, "
            "sent_at = ?, runs_tried = coalesce(runs_tried, 0) + 1, dead_at = ? "
            "WHERE rowid = ?",
            [outcome.attempts, outcome.error, now if outcome.sent else None,
             now if dead else None, rowid])
    return outcomes


def dead_notifications(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Notifications given up on: (rule, channel, state, queued_at, runs tried, last error)."""
    return con.execute(
        "SELECT rule, channel, state, queued_at, runs_tried, last_error "
        "FROM alerting.notifications WHERE dead_at IS NOT NULL ORDER BY queued_at").fetchall()
