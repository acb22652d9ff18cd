"""Alerts in the reports: the overview opens with the open ones, a campaign report shows its
own (marts.alerts, README "Alerts")."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from orchestration.lib.reports import page
from orchestration.lib.reports.format import local_time


def alerts_table(alerts: list[dict[str, Any]], zone: ZoneInfo, *, with_campaign: bool) -> str:
    headers = ["Alert", "Severity", *(["Campaign"] if with_campaign else []), "Finding",
               "What to do", "Since", "State"]
    rows = []
    for alert in alerts:
        state = ("open" if alert["resolved_at"] is None
                 else f"resolved {local_time(alert['resolved_at'], zone)}")
        campaign = [(alert["campaign_name"] or alert["campaign_id"] or "", None)]
        rows.append([(alert["rule"], None), (alert["severity"], None),
                     *(campaign if with_campaign else []), (alert["message"], None),
                     (alert["advice"], None), (local_time(alert["first_seen"], zone), None),
                     (state, None)])
    return page.table(headers, rows, numeric=[False] * len(headers), table_id="alerts-table")


def overview_section(alerts: list[dict[str, Any]], zone: ZoneInfo) -> str:
    content = (alerts_table(alerts, zone, with_campaign=True) if alerts else
               '<p class="note">No open alerts: every rule is within its threshold for the '
               "latest campaigns.</p>")
    return page.section(f"Open alerts ({len(alerts)})", content, section_id="alerts")


def campaign_section(alerts: list[dict[str, Any]], zone: ZoneInfo) -> str:
    if not alerts:
        return ""
    return page.section("Alerts", alerts_table(alerts, zone, with_campaign=False),
                        section_id="alerts")
