"""Everything a campaign report shows, read from the published copy in a few grouped queries.

The queries take a list of campaigns, not one: the daily run writes the reports of every
campaign it finalized, and one pass over the facts for all of them costs what one pass for a
single campaign costs (campaign ids are random, so DuckDB's zone maps cannot skip row groups).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from orchestration.lib.published_state import load_alerts
from orchestration.lib.warehouse import sql_string

# Timeline bucket widths, seconds: the smallest that keeps a campaign within TIMELINE_BUCKETS.
BUCKET_LADDER = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
TIMELINE_BUCKETS = 48
# The timeline ends where 95% of receipts have arrived: the 72-hour tail of a few late receipts
# would otherwise squeeze the sending window into one column. The rest is counted in the
# caption, and the latency chart shows the whole tail.
TIMELINE_RECEIPT_QUANTILE = 0.95

SMS_LATENCY_BINS = [(0, "<5s"), (5, "5-10s"), (10, "10-30s"), (30, "30s-1m"), (60, "1-5m"),
                    (300, "5-30m"), (1800, "30-60m"), (3600, "1-6h"), (21600, "6-24h"),
                    (86400, "1-3d"), (259200, "3d+")]
VOICE_DURATION_BINS = [(0, "<10s"), (10, "10-30s"), (30, "30-60s"), (60, "1-2m"),
                       (120, "2-5m"), (300, "5-10m"), (600, "10m+")]


@dataclass
class Timeline:
    bucket_seconds: int
    starts: list[dt.datetime]  # UTC bucket starts
    series: dict[str, list[int]]
    later: int = 0  # receipts after the window shown
    last_event: dt.datetime | None = None


@dataclass
class CampaignData:
    """One campaign's report inputs. `performance` is its row of the channel's performance
    mart; `meta` its row of dim_campaigns."""

    meta: dict[str, Any]
    performance: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    retry: list[dict[str, Any]] = field(default_factory=list)
    timeline: Timeline | None = None
    heatmap: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    latency_bins: list[int] = field(default_factory=list)
    latency_p50: float | None = None
    latency_p90: float | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)  # marts.alerts naming it
    lists: list[dict[str, Any]] = field(default_factory=list)  # campaign_list_performance
    operators: list[dict[str, Any]] = field(default_factory=list)  # by original operator

    @property
    def channel(self) -> str:
        return self.meta["channel"]

    @property
    def campaign_id(self) -> str:
        return self.meta["campaign_id"]


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
           ) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def id_list(ids: Sequence[str]) -> str:
    return "(" + ", ".join(sql_string(i) for i in ids) + ")" if ids else "(NULL)"


def load_campaigns(con: duckdb.DuckDBPyConnection, campaign_ids: Sequence[str],
                   zone: ZoneInfo) -> dict[str, CampaignData]:
    """Report inputs for each known campaign of `campaign_ids` (unknown ids are left out)."""
    ids = id_list(campaign_ids)
    meta = {r["campaign_id"]: r for r in dict_rows(
        con, f"SELECT * FROM marts.dim_campaigns WHERE campaign_id IN {ids}")}
    performance = {r["campaign_id"]: r for r in dict_rows(
        con, f"SELECT * FROM marts.sms_campaign_performance WHERE campaign_id IN {ids}")}
    performance |= {r["campaign_id"]: r for r in dict_rows(
        con, f"SELECT * FROM marts.voice_campaign_performance WHERE campaign_id IN {ids}")}
    reports = {cid: CampaignData(meta=row, performance=performance.get(cid, {}))
               for cid, row in meta.items()}
    if not reports:
        return reports
    for row in dict_rows(con, f"""
            SELECT * REPLACE (coalesce(failures, 0) AS failures)
            FROM marts.error_distribution WHERE campaign_id IN {ids}
            ORDER BY campaign_id, failures DESC, error_code"""):
        reports[row["campaign_id"]].errors.append(row)
    for row in dict_rows(con, f"""
            SELECT * FROM marts.retry_effectiveness
            WHERE campaign_id IN {ids} AND attempt_number IS NOT NULL
            ORDER BY campaign_id, attempt_number"""):
        reports[row["campaign_id"]].retry.append(row)
    for row in dict_rows(con, f"""
            SELECT * FROM marts.campaign_list_performance WHERE campaign_id IN {ids}
            ORDER BY campaign_id, label_kind, volume DESC, label"""):
        reports[row["campaign_id"]].lists.append(row)
    for row in dict_rows(con, f"""
            SELECT campaign_id, original_operator, sum(volume) AS volume,
                   sum(submitted) AS submitted, sum(succeeded) AS succeeded,
                   sum(failed) AS failed, sum(rejected) AS rejected
            FROM marts.campaign_operator_performance WHERE campaign_id IN {ids}
            GROUP BY ALL ORDER BY campaign_id, volume DESC, original_operator"""):
        reports[row["campaign_id"]].operators.append(row)
    for row in load_alerts(con, open_only=False, campaign_ids=list(reports)):
        reports[row["campaign_id"]].alerts.append(row)
    sms = [cid for cid, r in reports.items() if r.channel == "sms"]
    voice = [cid for cid, r in reports.items() if r.channel == "voice"]
    _load_timelines(con, reports, sms, voice, zone)
    _load_heatmaps(con, reports, sms, voice, zone)
    _load_latency(con, reports, sms, voice)
    return reports


def _events_sql(sms: Sequence[str], voice: Sequence[str]) -> str:
    """(campaign_id, event_at, series) rows: SMS submissions and receipts, voice attempts and
    connections."""
    return f"""
        SELECT campaign_id, submitted_at AS event_at, 'a' AS series FROM marts.fct_sms_messages
        WHERE campaign_id IN {id_list(sms)} AND submitted_at IS NOT NULL
        UNION ALL
        SELECT campaign_id, delivered_at, 'b' FROM marts.fct_sms_messages
        WHERE campaign_id IN {id_list(sms)} AND delivered_at IS NOT NULL
        UNION ALL
        SELECT campaign_id, started_at, 'a' FROM marts.fct_call_attempts
        WHERE campaign_id IN {id_list(voice)} AND started_at IS NOT NULL
        UNION ALL
        SELECT campaign_id, started_at, 'b' FROM marts.fct_call_attempts
        WHERE campaign_id IN {id_list(voice)} AND started_at IS NOT NULL AND is_connected"""


def bucket_width(span_seconds: float) -> int:
    for width in BUCKET_LADDER:
        if span_seconds / width <= TIMELINE_BUCKETS:
            return width
    return BUCKET_LADDER[-1] * math.ceil(span_seconds / BUCKET_LADDER[-1] / TIMELINE_BUCKETS)


def _load_timelines(con: duckdb.DuckDBPyConnection, reports: dict[str, CampaignData],
                    sms: Sequence[str], voice: Sequence[str], zone: ZoneInfo) -> None:
    events = _events_sql(sms, voice)
    bounds = dict_rows(con, f"""
        WITH events AS ({events})
        SELECT campaign_id,
               min(epoch(event_at)) AS first_at,
               max(epoch(event_at)) FILTER (WHERE series = 'a') AS last_a,
               quantile_cont(epoch(event_at), {TIMELINE_RECEIPT_QUANTILE})
                   FILTER (WHERE series = 'b') AS tail_b,
               max(event_at) AS last_event
        FROM events GROUP BY campaign_id""")
    if not bounds:
        return
    windows = []
    for row in bounds:
        start = row["first_at"]
        end = max(v for v in (row["last_a"], row["tail_b"], start) if v is not None)
        width = bucket_width(max(end - start, 1))
        # Align buckets to the account's wall clock, so an hour bucket starts at :00 local.
        offset = zone.utcoffset(dt.datetime.fromtimestamp(start, dt.UTC).replace(tzinfo=None))
        shift = offset.total_seconds() if offset else 0
        origin = math.floor((start + shift) / width) * width - shift
        count = max(1, math.floor((end - origin) / width) + 1)
        windows.append((row["campaign_id"], origin, width, count))
        reports[row["campaign_id"]].timeline = Timeline(
            bucket_seconds=width,
            starts=[dt.datetime.fromtimestamp(origin + i * width, dt.UTC) for i in range(count)],
            series={"a": [0] * count, "b": [0] * count},
            last_event=row["last_event"],
        )
    values = ", ".join(f"({sql_string(c)}, {o}, {w}, {n})" for c, o, w, n in windows)
    for campaign_id, bucket, series, events_count in con.execute(f"""
            WITH events AS ({events}),
            windows(campaign_id, origin, width, buckets) AS (VALUES {values})
            SELECT campaign_id,
                   least(floor((epoch(event_at) - origin) / width), buckets)::BIGINT AS bucket,
                   series, count(*)
            FROM events JOIN windows USING (campaign_id)
            GROUP BY ALL""").fetchall():
        timeline = reports[campaign_id].timeline
        assert timeline is not None
        if bucket >= len(timeline.starts):
            timeline.later += events_count
        else:
            timeline.series[series][bucket] += events_count


def _load_heatmaps(con: duckdb.DuckDBPyConnection, reports: dict[str, CampaignData],
                   sms: Sequence[str], voice: Sequence[str], zone: ZoneInfo) -> None:
    """Delivered messages by the local hour their receipt came in; connected calls by the
    local hour they started."""
    tz = sql_string(zone.key)
    for campaign_id, day, hour, delivered in con.execute(f"""
            WITH events AS (
                SELECT campaign_id, timezone({tz}, delivered_at) AS local_at
                FROM marts.fct_sms_messages
                WHERE campaign_id IN {id_list(sms)} AND delivered_at IS NOT NULL
                UNION ALL
                SELECT campaign_id, timezone({tz}, started_at) FROM marts.fct_call_attempts
                WHERE campaign_id IN {id_list(voice)} AND is_connected AND started_at IS NOT NULL
            )
            SELECT campaign_id, isodow(local_at), hour(local_at), count(*)
            FROM events GROUP BY ALL""").fetchall():
        reports[campaign_id].heatmap[day - 1][hour] = delivered


def _bin_case(column: str, bins: Sequence[tuple[int, str]]) -> str:
    whens = " ".join(f"WHEN {column} < {bins[i + 1][0]} THEN {i}" for i in range(len(bins) - 1))
    return f"CASE {whens} ELSE {len(bins) - 1} END"


def _load_latency(con: duckdb.DuckDBPyConnection, reports: dict[str, CampaignData],
                  sms: Sequence[str], voice: Sequence[str]) -> None:
    """SMS: submit-to-receipt latency of delivered messages. Voice: talk time of answered
    calls (a call has no receipt; how long people stayed on the line is its counterpart)."""
    for report in reports.values():
        bins = SMS_LATENCY_BINS if report.channel == "sms" else VOICE_DURATION_BINS
        report.latency_bins = [0] * len(bins)
    for campaign_id in sms:  # the mart's own percentiles, so the report agrees with SQL
        performance = reports[campaign_id].performance
        reports[campaign_id].latency_p50 = performance.get("p50_delivery_latency_seconds")
        reports[campaign_id].latency_p90 = performance.get("p90_delivery_latency_seconds")
    queries = [
        (sms, "delivery_latency_seconds", "marts.fct_sms_messages", SMS_LATENCY_BINS),
        (voice, "duration_seconds", "marts.fct_call_attempts WHERE is_connected",
         VOICE_DURATION_BINS),
    ]
    for ids, column, source, bins in queries:
        if not ids:
            continue
        where = "AND" if "WHERE" in source else "WHERE"
        for campaign_id, bin_index, samples in con.execute(f"""
                SELECT campaign_id, {_bin_case(column, bins)} AS bin, count(*)
                FROM {source} {where} campaign_id IN {id_list(ids)} AND {column} IS NOT NULL
                GROUP BY ALL""").fetchall():
            reports[campaign_id].latency_bins[bin_index] = samples
        if ids is sms:
            continue
        for campaign_id, p50, p90 in con.execute(f"""
                SELECT campaign_id, quantile_cont({column}, 0.5), quantile_cont({column}, 0.9)
                FROM {source} {where} campaign_id IN {id_list(ids)} AND {column} IS NOT NULL
                GROUP BY ALL""").fetchall():
            reports[campaign_id].latency_p50 = p50
            reports[campaign_id].latency_p90 = p90
