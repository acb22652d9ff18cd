"""The account overview's inputs: the marts summed over the campaigns started in a date range."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from orchestration.lib.published_state import load_alerts
from orchestration.lib.reports.campaign_data import CampaignData, dict_rows, id_list
from orchestration.lib.warehouse import sql_string


@dataclass
class OverviewData:
    start: dt.date | None
    end: dt.date | None
    campaigns: list[CampaignData]
    trends: list[dict[str, Any]] = field(default_factory=list)
    hours: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by channel
    errors: list[dict[str, Any]] = field(default_factory=list)
    retry: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the open ones, all campaigns


def load_overview(con: duckdb.DuckDBPyConnection, zone: ZoneInfo, start: dt.date | None,
                  end: dt.date | None) -> OverviewData:
    tz = sql_string(zone.key)
    local_day = f"coalesce(started_at_local, timezone({tz}, created_at))::DATE"
    where = " AND ".join(
        [f"{local_day} >= ?"] * (start is not None) + [f"{local_day} <= ?"] * (end is not None)
    ) or "true"
    params = [d for d in (start, end) if d is not None]
    metas = dict_rows(con, f"SELECT * FROM marts.dim_campaigns WHERE {where} "
                        "ORDER BY started_at NULLS LAST, campaign_id", params)
    ids = [m["campaign_id"] for m in metas]
    in_ids = id_list(ids)
    performance = {r["campaign_id"]: r for table in ("sms", "voice") for r in dict_rows(
        con, f"SELECT * FROM marts.{table}_campaign_performance WHERE campaign_id IN {in_ids}")}
    campaigns = [CampaignData(meta=m, performance=performance.get(m["campaign_id"], {}))
                 for m in metas]
    # Every open alert, whatever the range: an open alert is news about the account now, and
    # a range that leaves its campaign out must not make it look resolved.
    data = OverviewData(start=start, end=end, campaigns=campaigns,
                        alerts=load_alerts(con, open_only=True))
    if not ids:
        return data
    by_id = {c.campaign_id: c for c in campaigns}
    for row in dict_rows(con, "SELECT * REPLACE (coalesce(failures, 0) AS failures) FROM "
                           f"marts.error_distribution WHERE campaign_id IN {in_ids} "
                           "ORDER BY failures DESC"):
        by_id[row["campaign_id"]].errors.append(row)
    data.trends = dict_rows(con, f"""
        SELECT channel, activity_date, campaign_id, campaign_name, volume, submitted, succeeded,
               failed, rejected, success_rate, effective_reach
        FROM marts.delivery_rate_trends
        WHERE campaign_id IN {in_ids} AND activity_date IS NOT NULL
        ORDER BY activity_date, campaign_name""")
    for channel in ("sms", "voice"):
        data.hours[channel] = dict_rows(con, f"""
            SELECT hour_of_day, sum(volume) AS volume, sum(submitted) AS submitted,
                   sum(succeeded) AS succeeded,
                   sum(succeeded) / nullif(sum(submitted), 0) AS success_rate,
                   sum(latency_seconds_sum) / nullif(sum(latency_samples), 0)
                       AS avg_latency_seconds
            FROM marts.time_of_day
            WHERE channel = ? AND campaign_id IN {in_ids} AND hour_of_day IS NOT NULL
            GROUP BY hour_of_day ORDER BY hour_of_day""", [channel])
    # Percentiles do not add up across campaigns: taken from the messages themselves.
    latency = {row["hour_of_day"]: row for row in dict_rows(con, f"""
        SELECT hour(submitted_at_local) AS hour_of_day,
               quantile_cont(delivery_latency_seconds, 0.5) AS p50_latency_seconds,
               quantile_cont(delivery_latency_seconds, 0.9) AS p90_latency_seconds
        FROM marts.fct_sms_messages
        WHERE campaign_id IN {in_ids} AND delivery_latency_seconds IS NOT NULL
              AND submitted_at_local IS NOT NULL
        GROUP BY ALL""")}
    for row in data.hours["sms"]:
        row.update(latency.get(row["hour_of_day"], {"p50_latency_seconds": None,
                                                    "p90_latency_seconds": None}))
    data.errors = dict_rows(con, f"""
        SELECT channel,
               CASE WHEN channel = 'sms' THEN error_category ELSE error_code END AS cause,
               coalesce(sum(failures), 0) AS failures,
               arg_max(recommended_action, failures) AS recommended_action
        FROM marts.error_distribution WHERE campaign_id IN {in_ids}
        GROUP BY ALL ORDER BY channel DESC, failures DESC""")
    data.retry = _retry_across_campaigns(dict_rows(con, f"""
        SELECT campaign_id, attempt_number, coalesce(contacts_attempted, 0) AS contacts_attempted,
               coalesce(contacts_connected, 0) AS contacts_connected,
               coalesce(cumulative_contacts_connected, 0) AS cumulative_contacts_connected,
               coalesce(campaign_contacts, 0) AS campaign_contacts
        FROM marts.retry_effectiveness
        WHERE campaign_id IN {in_ids} AND attempt_number IS NOT NULL
        ORDER BY campaign_id, attempt_number"""))
    return data


def _retry_across_campaigns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed 001's retry table summed over campaigns. A campaign with fewer retries keeps its
    final cumulative count at later attempts, so the cumulative rate is over every contact."""
    if not rows:
        return []
    depth = max(r["attempt_number"] for r in rows)
    contacts: dict[str, int] = {}
    per_campaign: dict[str, dict[int, dict[str, Any]]] = {}
    for row in rows:
        contacts[row["campaign_id"]] = row["campaign_contacts"]
        per_campaign.setdefault(row["campaign_id"], {})[row["attempt_number"]] = row
    all_contacts = sum(contacts.values())
    out = []
    for attempt in range(1, depth + 1):
        attempted = connected = cumulative = 0
        for by_attempt in per_campaign.values():
            row = by_attempt.get(attempt)
            if row:
                attempted += row["contacts_attempted"]
                connected += row["contacts_connected"]
            reached = [r for a, r in by_attempt.items() if a <= attempt]
            if reached:
                cumulative += max(reached, key=lambda r: r["attempt_number"])[
                    "cumulative_contacts_connected"]
        out.append({
            "attempt_number": attempt, "contacts_attempted": attempted,
            "contacts_connected": connected,
            "connect_rate": connected / attempted if attempted else None,
            "cumulative_connect_rate": cumulative / all_contacts if all_contacts else None,
            "campaigns": sum(1 for b in per_campaign.values() if attempt in b),
        })
    return out
