"""The domain rules, read from the one place they live: the dbt project.

dbt models read them with `var()` (dbt_project.yml `vars:`) or as seeds; Python reads the same
files here, so a rule (which statuses are terminal, how stale data may get, where a rate turns
unhealthy) cannot say one thing in SQL and another in Python.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
HEALTH_THRESHOLDS_CSV = DBT_PROJECT_DIR / "seeds" / "health_thresholds.csv"


@cache
def _project_vars() -> dict[str, Any]:
    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)["vars"]


TERMINAL_CAMPAIGN_STATUSES: frozenset[str] = frozenset(
    _project_vars()["terminal_campaign_statuses"])
SMS_PENDING_STATUSES: tuple[str, ...] = tuple(_project_vars()["sms_pending_statuses"])
FRESHNESS_MAX_AGE_HOURS: float = float(_project_vars()["freshness_max_age_hours"])
UNRECONCILED_PULL_ATTEMPTS: int = int(_project_vars()["unreconciled_pull_attempts"])
# A run's records failing their contract: a warning above this share, an error above the other
# (the ingest's check and the pipeline alert read the same two).
REJECTED_WARN_SHARE: float = 0.001
REJECTED_FAIL_SHARE: float = 0.01
ALERT_MIN_VOLUME: int = int(_project_vars()["alert_min_volume"])
# A campaign the provider suspended (Brevo's `suspended`: its soft bounces, hard bounces or
# unsubscriptions ran high, seed 003) is told on its own, whichever campaign is latest.
SUSPENDED_CAMPAIGN_STATUS = "suspended"
SUSPENSION_ADVICE = (
    "The provider suspends a campaign whose soft bounces, hard bounces or unsubscriptions run "
    "high, to protect your sender reputation: remove invalid, landline and non-existent "
    "numbers, send only within the hours the recipients' countries allow, review how consent "
    "was collected and segment the list, then ask the provider's support to resume it (a soft "
    "bounce its platform caused may be compensated).")
VALID_PHONE_NUMBER_PATTERN: str = _project_vars()["valid_phone_number_pattern"]


@dataclass(frozen=True)
class HealthThreshold:
    """One line of a campaign's health check: `metric` `comparison` `threshold` makes the
    campaign `level` (watch or investigate). `healthy_range` is the provider's range, in words."""

    channel: str
    metric: str
    label: str  # for tables: "Delivery rate"
    short_label: str  # inside a sentence: "delivery 88.0% is below 90%"
    comparison: str  # below | at_or_above
    threshold: float
    level: str  # watch | investigate
    healthy_range: str
    in_verdict: bool = True  # False: an alert rule only
    alert_rule: str = ""
    advice: str = ""

    def fires(self, value: float | None) -> bool:
        if value is None:
            return False
        return value < self.threshold if self.comparison == "below" else value >= self.threshold


@cache
def _threshold_rows() -> tuple[HealthThreshold, ...]:
    with HEALTH_THRESHOLDS_CSV.open(encoding="utf-8", newline="") as file:
        return tuple(
            HealthThreshold(row["channel"], row["metric"], row["label"], row["short_label"],
                            row["comparison"], float(row["threshold"]), row["level"],
                            row["healthy_range"], row["in_verdict"] == "true",
                            row["alert_rule"], row["advice"])
            for row in csv.DictReader(file))


def health_thresholds() -> tuple[HealthThreshold, ...]:
    """The checks of a campaign's health verdict (the marts' health_status reads the same)."""
    return tuple(row for row in _threshold_rows() if row.in_verdict)


def alert_thresholds() -> tuple[HealthThreshold, ...]:
    """Every row of the thresholds file: each is an alert rule's check."""
    return _threshold_rows()


RETRY_RULE = "voice_retry_connect_rate_low"


def retry_rule() -> HealthThreshold:
    """The one retry rule (seed 001: a retry connecting below 10% is not worth its cost): the
    verdict, the alert and retry_effectiveness's is_cost_effective all read this row."""
    return next(row for row in _threshold_rows() if row.alert_rule == RETRY_RULE)


def changed_campaigns_sql(upstream: str, target: str) -> str:
    """The campaigns of `upstream` with rows loaded after the newest row of `target`: the dbt
    macro changed_campaigns_sql (the incremental models' watermark), rendered here."""
    import jinja2

    macro = (DBT_PROJECT_DIR / "macros" / "changed_campaigns.sql").read_text(encoding="utf-8")
    template = jinja2.Environment(autoescape=False).from_string(  # noqa: S701 - SQL, not HTML
        macro + "{{ changed_campaigns_sql(upstream, target) }}")
    return template.render(upstream=upstream, target=target).strip()
