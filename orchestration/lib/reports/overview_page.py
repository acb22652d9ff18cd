"""The account overview: seed 000's trend, time-of-day and error tables, seed 001's retry
table across campaigns, and every campaign in one sortable table linking to its report."""

from __future__ import annotations

from html import escape

from orchestration.lib.reports import alerts, page, svg
from orchestration.lib.reports.campaign_page import (
    BLUE,
    DARK_BLUE,
    GREEN,
    RED,
    ReportContext,
    attempt_name,
    report_filename,
)
from orchestration.lib.reports.format import DASH, count, duration, local_day, local_time, pct
from orchestration.lib.reports.overview_data import OverviewData
from orchestration.lib.reports.verdict import CATEGORY_LABELS, VOICE_STATUS_LABELS, judge

SMS_HEALTHY_BAND = (0.92, 0.98)


def render_overview(data: OverviewData, ctx: ReportContext, *, linked: set[str]) -> str:
    """`linked`: campaigns whose report file sits beside the overview (only those get links)."""
    if data.start or data.end:
        span = f"campaigns started {local_day(data.start) if data.start else 'any time'} to " \
               f"{local_day(data.end) if data.end else 'today'}"
    else:
        span = "every campaign in the warehouse"
    body = [
        "<h1>Campaign overview</h1>",
        f'<p class="sub">{escape(span[0].upper() + span[1:])} · data as of '
        f"{escape(local_time(ctx.published_at, ctx.zone))}</p>",
        alerts.overview_section(data.alerts, ctx.zone),
        _totals(data),
        page.section("Delivery-rate trend", _trend(data), section_id="trend"),
        page.section("Time of day", _time_of_day(data, ctx), section_id="time-of-day"),
        page.section("Error categories", _errors(data), section_id="errors"),
        page.section("Retry effectiveness (voice)", _retries(data), section_id="retries"),
        page.section("Campaigns", _campaign_table(data, ctx, linked), section_id="campaigns"),
    ]
    return page.document("Campaign overview", "".join(body), generated_at=ctx.generated_at,
                         zone=ctx.zone, source=ctx.source)


def _sum(data: OverviewData, channel: str, column: str) -> int:
    return sum(c.performance.get(column) or 0 for c in data.campaigns if c.channel == channel)


def _totals(data: OverviewData) -> str:
    sms = [c for c in data.campaigns if c.channel == "sms"]
    voice = [c for c in data.campaigns if c.channel == "voice"]
    submitted = _sum(data, "sms", "messages_submitted")
    delivered = _sum(data, "sms", "messages_delivered")
    contacts = _sum(data, "voice", "contacts")
    connected = _sum(data, "voice", "contacts_connected")
    return page.cards([
        ("SMS campaigns", count(len(sms)), f"{count(_sum(data, 'sms', 'messages_total'))} "
                                           "messages"),
        ("SMS delivered", count(delivered),
         DASH if not submitted else f"{pct(delivered / submitted)} of submitted"),
        ("Awaiting receipts", count(_sum(data, "sms", "messages_pending")), "messages pending"),
        ("Voice campaigns", count(len(voice)), f"{count(contacts)} contacts"),
        ("Contacts connected", count(connected),
         DASH if not contacts else f"{pct(connected / contacts)} of contacts"),
    ])


def _trend(data: OverviewData) -> str:
    """One point per campaign and activity date, in date order (seed 000's trend table)."""
    sms = [t for t in data.trends if t["channel"] == "sms"]
    voice = [t for t in data.trends if t["channel"] == "voice"]
    rows = sorted(data.trends, key=lambda t: (t["activity_date"], t["campaign_name"] or ""))
    categories = [f"{t['activity_date'].day} {t['activity_date']:%b}" for t in rows]
    tips = [f"{t['campaign_name']} ({local_day(t['activity_date'])})" for t in rows]
    drawn = svg.rate_lines(
        categories,
        [("SMS delivery rate", [t["success_rate"] if t in sms else None for t in rows], GREEN),
         ("Voice connect rate", [t["success_rate"] if t in voice else None for t in rows],
          BLUE)],
        label="Delivery and connect rate by campaign", band=SMS_HEALTHY_BAND, tips=tips)
    out = page.chart("trend", drawn, caption="One point per campaign and day, oldest first: "
                     "SMS delivered over submitted, voice contacts connected over contacts "
                     "called. Shaded: the healthy SMS delivery range (92–98%).",
                     empty="No campaign in this range has sent anything yet.")
    if rows:
        table_rows = [[(t["campaign_name"], None), (t["channel"], None),
                       (local_day(t["activity_date"]), t["activity_date"].isoformat()),
                       (count(t["volume"]), str(t["volume"])),
                       (count(t["succeeded"]), str(t["succeeded"])),
                       (pct(t["success_rate"]), str(t["success_rate"] or -1))]
                      for t in rows]
        out += page.table(["Campaign", "Channel", "Date", "Total", "Delivered / connected",
                           "Rate"], table_rows,
                          numeric=[False, False, False, True, True, True], sortable=True,
                          table_id="trend-table")
    return out


def _time_of_day(data: OverviewData, ctx: ReportContext) -> str:
    out = []
    for channel, series_name, rate_name, caption in (
        ("sms", "Messages", "delivery rate",
         "SMS by local send hour: volume (bars) and delivery rate, delivered over submitted "
         "(line)."),
        ("voice", "Call attempts", "connect rate",
         "Calls by local start hour: attempts (bars) and the share of attempts answered "
         "(line)."),
    ):
        hours = {h["hour_of_day"]: h for h in data.hours.get(channel, [])}
        labels = [f"{h:02d}h" for h in range(24)]
        volumes = [hours[h]["volume"] if h in hours else 0 for h in range(24)]
        rates = [hours[h]["success_rate"] if h in hours else None for h in range(24)]
        drawn = svg.column_chart(labels, [svg.Series(series_name, volumes, DARK_BLUE)],
                                 label=f"{channel} time of day", tick_every=2, rate_line=rates,
                                 rate_name=rate_name)
        out.append(page.chart(f"time-of-day-{channel}", drawn,
                              caption=f"{caption} Hours in {ctx.zone.key}.",
                              empty=f"No {channel.upper() if channel == 'sms' else 'voice'} "
                              "traffic in this range."))
        if channel == "sms" and hours:
            # The median first: receipts up to 72 hours late make the mean misleading.
            out.append(page.table(
                ["Send time", "Messages", "Median delivery time", "p90", "Mean",
                 "Delivery rate"],
                [[(f"{h:02d}:00", None), (count(row["volume"]), None),
                  (duration(row["p50_latency_seconds"]), None),
                  (duration(row["p90_latency_seconds"]), None),
                  (duration(row["avg_latency_seconds"]), None), (pct(row["success_rate"]), None)]
                 for h, row in sorted(hours.items())],
                numeric=[False, True, True, True, True, True], table_id="time-of-day-table"))
    return "".join(out)


def _errors(data: OverviewData) -> str:
    out = []
    for channel, labels, noun in (("sms", CATEGORY_LABELS, "SMS failures and rejections"),
                                  ("voice", VOICE_STATUS_LABELS, "unreached voice contacts")):
        rows = [e for e in data.errors if e["channel"] == channel and e["failures"]]
        total = sum(e["failures"] for e in rows)
        drawn = svg.horizontal_bars(
            [(labels.get(e["cause"], e["cause"] or "unknown"), e["failures"],
              f"{count(e['failures'])} · {pct(e['failures'] / total)}") for e in rows],
            color=RED, label=noun)
        out.append(page.chart(f"errors-{channel}", drawn,
                              caption=f"{count(total)} {noun}, largest cause first.",
                              empty=f"No {noun} in this range."))
        if rows:
            out.append(page.table(
                ["Cause", "Count", "Share", "Action"],
                [[(labels.get(e["cause"], e["cause"] or "unknown"), None),
                  (count(e["failures"]), None), (pct(e["failures"] / total), None),
                  (e["recommended_action"] or DASH, None)] for e in rows],
                numeric=[False, True, True, False], table_id=f"error-table-{channel}"))
    return "".join(out)


def _retries(data: OverviewData) -> str:
    rows = data.retry
    drawn = svg.column_chart(
        [attempt_name(r["attempt_number"]) for r in rows],
        [svg.Series("Contacts attempted", [r["contacts_attempted"] for r in rows], BLUE),
         svg.Series("Connected", [r["contacts_connected"] for r in rows], GREEN)],
        label="Retry effectiveness", rate_line=[r["cumulative_connect_rate"] for r in rows],
        rate_name="cumulative connect rate")
    out = page.chart("retries", drawn, caption="Contacts attempted and connected at each "
                     "attempt, over every voice campaign in range; the line is the share of all "
                     "their contacts connected so far.",
                     empty="No voice campaign in this range has dialled anyone yet.")
    if rows:
        out += page.table(
            ["Attempt", "Campaigns", "Contacts", "Connected", "Connect rate", "Cumulative"],
            [[(attempt_name(r["attempt_number"]), None), (count(r["campaigns"]), None),
              (count(r["contacts_attempted"]), None), (count(r["contacts_connected"]), None),
              (pct(r["connect_rate"]), None), (pct(r["cumulative_connect_rate"]), None)]
             for r in rows], numeric=[False, True, True, True, True, True])
    return out


def _campaign_table(data: OverviewData, ctx: ReportContext, linked: set[str]) -> str:
    if not data.campaigns:
        return '<p class="empty">No campaigns in this range.</p>'
    rows = []
    for c in data.campaigns:
        p, m = c.performance, c.meta
        sms = c.channel == "sms"
        volume = p.get("messages_total" if sms else "contacts") or 0
        success = p.get("messages_delivered" if sms else "contacts_connected") or 0
        rate = p.get("delivery_rate" if sms else "connect_rate")
        pending = p.get("messages_pending" if sms else "contacts_pending") or 0
        name = escape(m["campaign_name"] or c.campaign_id)
        if c.campaign_id in linked:
            name = f'<a href="{escape(report_filename(c.campaign_id))}">{name}</a>'
        level = judge(c).level
        started = m["started_at"]
        rows.append([
            (name, (m["campaign_name"] or "").lower()), (escape(c.channel), None),
            (escape(m["campaign_status"] or DASH), None),
            (escape(local_time(started, ctx.zone)), started.isoformat() if started else ""),
            (count(volume), str(volume)), (count(success), str(success)),
            (pct(rate), str(-1 if rate is None else rate)), (count(pending), str(pending)),
            (page.pill(level) + ("" if m["is_final"] else " <small>not final</small>"), level),
        ])
    return ("<p>Click a column to sort. Campaign names link to their reports.</p>"
            + page.table(["Campaign", "Channel", "Status", "Started", "Volume",
                          "Delivered / connected", "Rate", "Pending", "Health"], rows,
                         numeric=[False, False, False, False, True, True, True, True, False],
                         sortable=True, html_cells=True, table_id="campaign-table"))
