"""The campaign report: what seeds 000-003's dashboards show for one campaign, as one page."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from orchestration.lib.breakdowns import placed_first, unplaced_notes
from orchestration.lib.ids import check_id
from orchestration.lib.reports import page, svg
from orchestration.lib.reports.alerts import campaign_section
from orchestration.lib.reports.campaign_data import (
    SMS_LATENCY_BINS,
    VOICE_DURATION_BINS,
    CampaignData,
    Timeline,
)
from orchestration.lib.reports.format import DASH, count, duration, local_time, pct, plural
from orchestration.lib.reports.verdict import Verdict, failure_causes, judge
from orchestration.lib.rules import TERMINAL_CAMPAIGN_STATUSES, retry_rule
from orchestration.lib.settings import PROVIDER_NAMES

GREEN, RED, ORANGE, GREY = "#16a34a", "#dc2626", "#f59e0b", "#9ca3af"
BLUE, DARK_BLUE, PURPLE, BROWN = "#60a5fa", "#1d4ed8", "#8b5cf6", "#92400e"
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class ReportContext:
    """What every report of one publish shares."""

    zone: ZoneInfo
    generated_at: dt.datetime
    source: str
    finalization_hours: int
    published_at: dt.datetime | None


def report_filename(campaign_id: str) -> str:
    """The report's file name; the id is checked first, so it can never name another path."""
    return f"campaign-{check_id(campaign_id)}.html"


def render_campaign(report: CampaignData, ctx: ReportContext) -> str:
    meta, verdict = report.meta, judge(report)
    kind = "SMS" if report.channel == "sms" else "Voice"
    body = [
        f"<h1>{escape(meta['campaign_name'] or report.campaign_id)}</h1>",
        f'<p class="sub">{kind} campaign report · {escape(report.campaign_id)}</p>',
        page.summary(_summary_fields(report, ctx)),
        _verdict_box(verdict),
        campaign_section(report.alerts, ctx.zone),
        _pending_note(report, ctx),
        page.section("Key metrics", _cards(report) + _checks_table(verdict),
                     section_id="metrics"),
        page.section("Status breakdown", _status_chart(report), section_id="status"),
        page.section("Timeline", _timeline_chart(report, ctx), section_id="timeline"),
        page.section("When deliveries landed" if report.channel == "sms" else
                     "When calls connected", _heatmap(report, ctx), section_id="heatmap"),
        page.section("Error summary", _errors(report), section_id="errors"),
    ]
    if report.channel == "voice":
        body.append(page.section("Retry funnel", _retry_funnel(report), section_id="retries"))
    body.append(page.section(
        "Delivery latency" if report.channel == "sms" else "Talk time of answered calls",
        _latency(report), section_id="latency"))
    if report.channel == "sms":
        body.append(page.section("Delivered, soft and hard bounces", _bounces(report),
                                 section_id="bounces"))
    body.append(page.section("Audience: lists, operators, revenue", _audience(report),
                             section_id="audience"))
    title = f"{meta['campaign_name']} · {kind} campaign report"
    return page.document(title, "".join(body), generated_at=ctx.generated_at, zone=ctx.zone,
                         source=ctx.source)


def _summary_fields(report: CampaignData, ctx: ReportContext) -> list[tuple[str, str]]:
    meta = report.meta
    if report.channel == "sms":
        kind = f"SMS · {meta['message_type'] or 'unspecified type'}"
        sender = ("Sender ID", meta["sender_id"] or DASH)
    else:
        kind = "Voice (outbound calls)"
        sender = ("Caller ID (ExoPhone)", meta["caller_id"] or DASH)
    return [
        ("Campaign", meta["campaign_name"] or DASH), ("Campaign ID", report.campaign_id),
        ("Provider", PROVIDER_NAMES.get(meta.get("provider"), meta.get("provider") or DASH)),
        ("Type", kind), sender, ("Status", meta["campaign_status"] or DASH),
        ("Created", local_time(meta["created_at"], ctx.zone)),
        ("Starts (scheduled)" if _not_started(report) else "Started",
         local_time(meta["started_at"], ctx.zone)),
        ("Ended", local_time(meta["ended_at"], ctx.zone)),
        ("Data as of", local_time(meta["last_pulled_at"], ctx.zone)),
    ]


def _not_started(report: CampaignData) -> bool:
    return report.meta["campaign_status"] in ("Created", "Scheduled")


def _verdict_box(verdict: Verdict) -> str:
    return (f'<div class="verdict {verdict.level.replace(" ", "-")}" id="verdict">'
            f"<strong>{escape(verdict.level)}</strong><p>{escape(verdict.sentence)}</p></div>")


def _pending_note(report: CampaignData, ctx: ReportContext) -> str:
    meta, perf = report.meta, report.performance
    if meta["is_final"]:
        return ""
    pending = perf.get("messages_pending" if report.channel == "sms" else "contacts_pending") or 0
    what = (plural(pending, "message") + " still await a delivery receipt" if report.channel
            == "sms" else plural(pending, "contact") + " may still be retried")
    if _not_started(report):
        text = (f"This campaign has not started yet (status {meta['campaign_status']}, "
                f"scheduled for {local_time(meta['started_at'], ctx.zone)}): its figures "
                "appear once sending begins.")
    elif meta["ended_at"] is None or meta["campaign_status"] not in TERMINAL_CAMPAIGN_STATUSES:
        text = (f"This campaign is still running (status {meta['campaign_status']}): the figures "
                f"are a snapshot as of {local_time(meta['last_pulled_at'], ctx.zone)}; {what}.")
    else:
        until = meta["ended_at"] + dt.timedelta(hours=ctx.finalization_hours)
        late = ("delivery receipts can arrive up to" if report.channel == "sms" else
                "the provider's call records can still change for")
        text = (f"Figures are not final yet (status {meta['campaign_status']}): {late} "
                f"{ctx.finalization_hours} hours after a campaign ends, so until "
                f"{local_time(until, ctx.zone)}.")
        if pending:
            text += f" {what[0].upper()}{what[1:]}."
        text += " The daily run will update this report."
    return f'<p class="note" id="pending-note">{escape(text)}</p>'


def _share(part: int | None, whole: int) -> float | None:
    return (part or 0) / whole if whole else None


def _rate_of(value: float | None, what: str) -> str:
    return DASH if value is None else f"{pct(value)} {what}"


def _cards(report: CampaignData) -> str:
    p = report.performance
    if report.channel == "sms":
        total = p.get("messages_total") or 0
        items = [
            ("Total messages", count(total), "target audience"),
            ("Submitted", count(p.get("messages_submitted")),
             _rate_of(_share(p.get("messages_submitted"), total), "of total")),
            ("Delivered", count(p.get("messages_delivered")),
             _rate_of(p.get("delivery_rate"), "of submitted")),
            ("Failed", count(p.get("messages_failed")),
             _rate_of(p.get("failure_rate"), "of submitted")),
            ("Rejected", count(p.get("messages_rejected")),
             _rate_of(p.get("rejection_rate"), "of total")),
            ("Pending", count(p.get("messages_pending")),
             _rate_of(_share(p.get("messages_pending"), total), "of total")),
            ("Effective reach", pct(p.get("effective_reach")), "delivered of total"),
        ]
    else:
        contacts = p.get("contacts") or 0
        unanswered = (p.get("contacts_busy") or 0) + (p.get("contacts_no_answer") or 0)
        items = [
            ("Contacts", count(contacts), "in the campaign"),
            ("Call attempts", count(p.get("attempts")),
             DASH if not contacts else f"{(p.get('attempts') or 0) / contacts:.2f} per contact"),
            ("Connected", count(p.get("contacts_connected")),
             _rate_of(p.get("connect_rate"), "of contacts")),
            ("Failed", count(p.get("contacts_failed")),
             _rate_of(p.get("failure_rate"),
                      f"of contacts ({count(p.get('contacts_canceled'))} canceled)")),
            ("Busy or no answer", count(unanswered),
             _rate_of(_share(unanswered, contacts), "of contacts")),
            ("Pending", count(p.get("contacts_pending")),
             _rate_of(_share(p.get("contacts_pending"), contacts), "of contacts")),
            ("Answer rate", pct(p.get("answer_rate")), "connected of rung"),
        ]
    return page.cards(items)


def _checks_table(verdict: Verdict) -> str:
    if not verdict.checks:
        return ""
    rows = [[(c.metric, None), (pct(c.value), None), (c.healthy, None),
             ('<span class="ok">✓ healthy</span>' if c.ok else
              '<span class="not-ok">✗ outside</span>' if c.ok is False else DASH, None)]
            for c in verdict.checks]
    rows = [[(escape(t) if i < 3 else t, k) for i, (t, k) in enumerate(r)] for r in rows]
    return page.table(["Metric", "Value", "Healthy range", "Assessment"], rows,
                      numeric=[False, True, False, False], html_cells=True)


def _status_chart(report: CampaignData) -> str:
    p = report.performance
    if report.channel == "sms":
        slices = [
            svg.Slice("Delivered", p.get("messages_delivered") or 0, GREEN),
            svg.Slice("Failed", p.get("messages_failed") or 0, RED),
            svg.Slice("Rejected", p.get("messages_rejected") or 0, ORANGE),
            svg.Slice("Pending", p.get("messages_pending") or 0, GREY),
        ]
        total, noun = p.get("messages_total") or 0, "messages"
    else:
        slices = [
            svg.Slice("Connected", p.get("contacts_connected") or 0, GREEN),
            svg.Slice("No answer", p.get("contacts_no_answer") or 0, BLUE),
            svg.Slice("Busy", p.get("contacts_busy") or 0, ORANGE),
            svg.Slice("Call failed", p.get("contacts_call_failed") or 0, RED),
            svg.Slice("Canceled", p.get("contacts_canceled") or 0, BROWN),
            svg.Slice("Pending", p.get("contacts_pending") or 0, GREY),
        ]
        total, noun = p.get("contacts") or 0, "contacts"
    drawn = svg.donut(slices, center_value=count(total), center_label=noun,
                      label=f"Status breakdown of {count(total)} {noun}")
    caption = (f"Each message at its latest status; shares are of all {count(total)} messages "
               "(the cards give delivery and failure as shares of submitted)."
               if report.channel == "sms" else
               f"Each contact by the outcome of its last attempt, retries included; shares are of "
               f"all {count(total)} contacts. The provider's failed is call failed plus canceled.")
    return page.chart("status", drawn, caption=caption,
                      empty=f"No {noun} yet: there is no status to break down.")


def _bucket_label(start: dt.datetime, width: int, zone: ZoneInfo, multi_day: bool) -> str:
    local = start.astimezone(zone)
    if width >= 86400:
        return f"{local.day} {local:%b}"
    if width < 60:
        return f"{local:%H:%M:%S}"
    return f"{local.day} {local:%b} {local:%H:%M}" if multi_day else f"{local:%H:%M}"


def _timeline_chart(report: CampaignData, ctx: ReportContext) -> str:
    timeline: Timeline | None = report.timeline
    sms = report.channel == "sms"
    names = ("Submitted", "Delivered") if sms else ("Call attempts", "Connected")
    if timeline is None:
        return page.chart("timeline", None, caption="", empty="Nothing sent yet: the timeline "
                          "starts with the first " + ("submission." if sms else "call."))
    days = {s.astimezone(ctx.zone).date() for s in timeline.starts}
    labels = [_bucket_label(s, timeline.bucket_seconds, ctx.zone, len(days) > 1)
              for s in timeline.starts]
    width = duration(timeline.bucket_seconds)
    drawn = svg.column_chart(
        labels, [svg.Series(names[0], timeline.series["a"], BLUE),
                 svg.Series(names[1], timeline.series["b"], GREEN)],
        label=f"{names[0]} and {names[1].lower()} per {width}",
        tick_every=max(1, math.ceil(len(labels) / 8)),
        tips=[f"{local_time(s, ctx.zone)} (+{width})" for s in timeline.starts],
    )
    caption = (f"{names[0]} and {names[1].lower()} per {width}, by local time "
               f"({ctx.zone.key}).")
    if timeline.later:
        caption += (f" {plural(timeline.later, 'later receipt')} arrived after the window shown,"
                    f" the last {local_time(timeline.last_event, ctx.zone)}.")
    return page.chart("timeline", drawn, caption=caption, empty="Nothing sent yet.")


def _heatmap(report: CampaignData, ctx: ReportContext) -> str:
    sms = report.channel == "sms"
    unit = "delivered" if sms else "connected calls"
    drawn = svg.heatmap(report.heatmap, rows=DAYS, unit=unit,
                        label=f"{unit} by day of week and hour")
    what = ("Delivered messages by the local hour their receipt arrived" if sms
            else "Connected calls by the local hour they started")
    caption = f"{what} ({ctx.zone.key}); darker cells carry more volume."
    return page.chart("heatmap", drawn, caption=caption,
                      empty=f"No {unit} yet, so there is no time pattern to show.")


def _errors(report: CampaignData) -> str:
    causes = failure_causes(report)
    sms = report.channel == "sms"
    noun = "failures and rejections" if sms else "unreached contacts"
    total = sum(c.failures for c in causes)
    drawn = svg.horizontal_bars(
        [(c.label, c.failures, f"{count(c.failures)} · {pct(c.share)}") for c in causes],
        color=RED, label=f"{noun} by cause")
    volume = report.performance.get("messages_total" if sms else "contacts") or 0
    if not volume:
        empty = f"No {'messages' if sms else 'calls'} yet, so no failures to summarise."
    elif sms:
        empty = ("No failures or rejections: every message that reached a final status was "
                 "delivered.")
    else:
        empty = "No unreached contacts: every contact dialled connected."
    out = page.chart("errors", drawn, caption=f"{count(total)} {noun}, largest cause first.",
                     empty=empty)
    if causes:
        rows = [[(c.label, None),
                 (", ".join(f"{code} ({count(n)})" for code, n in c.codes), None),
                 (count(c.failures), None), (pct(c.share), None), (c.action, None)]
                for c in causes]
        out += page.table(["Category" if sms else "Final status", "Codes", "Count", "Share",
                           "Recommended action"], rows,
                          numeric=[False, False, True, True, False], table_id="error-table")
    return out


def attempt_name(number: int) -> str:
    if number == 1:
        return "1st attempt"
    retry = number - 1
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(retry if retry < 20 else retry % 10, "th")
    return f"{retry}{suffix} retry"


def _retry_funnel(report: CampaignData) -> str:
    rows = report.retry
    drawn = svg.column_chart(
        [attempt_name(r["attempt_number"]) for r in rows],
        [svg.Series("Contacts attempted", [r["contacts_attempted"] for r in rows], BLUE),
         svg.Series("Connected", [r["contacts_connected"] for r in rows], GREEN)],
        label="Retry funnel", rate_line=[r["cumulative_connect_rate"] for r in rows],
        rate_name="cumulative connect rate")
    out = page.chart("retry-funnel", drawn,
                     caption="Contacts reached at each attempt; the line is "
                     "the share of all contacts connected so far.",
                     empty="No calls yet, so no attempt to compare.")
    if rows:
        table_rows = [[(attempt_name(r["attempt_number"]), None),
                       (count(r["contacts_attempted"]), None),
                       (count(r["contacts_connected"]), None), (pct(r["connect_rate"]), None),
                       (pct(r["cumulative_connect_rate"]), None),
                       ("yes" if r["is_cost_effective"]
                        else f"no — below {retry_rule().threshold * 100:g}%", None)]
                      for r in rows]
        out += page.table(["Attempt", "Contacts", "Connected", "Connect rate", "Cumulative",
                           "Worth it?"], table_rows,
                          numeric=[False, True, True, True, True, False])
        out += "".join(f'<p class="note">{escape(r["retry_advice"])}</p>'
                       for r in rows if r.get("retry_advice"))
    return out


def _latency(report: CampaignData) -> str:
    sms = report.channel == "sms"
    bins = SMS_LATENCY_BINS if sms else VOICE_DURATION_BINS
    edges = [low for low, _ in bins]
    markers: dict[int, str] = {}
    for name, value in (("p50", report.latency_p50), ("p90", report.latency_p90)):
        if value is not None:
            index = max(i for i, low in enumerate(edges) if value >= low)
            markers[index] = f"{markers[index]} · {name}" if index in markers else name
    noun = "delivered messages" if sms else "answered calls"
    drawn = svg.column_chart(
        [label for _, label in bins],
        [svg.Series("Delivered messages" if sms else "Answered calls", report.latency_bins,
                    DARK_BLUE)],
        label="Delivery latency" if sms else "Talk time", markers=markers)
    what = "from submission to delivery receipt" if sms else "of answered calls"
    caption = (f"Time {what}: median (p50) {duration(report.latency_p50)}, "
               f"90th percentile (p90) {duration(report.latency_p90)}.")
    return page.chart("latency", drawn, caption=caption, empty=f"No {noun} yet.")


def _bounces(report: CampaignData) -> str:
    p = report.performance
    parts = [
        svg.Slice("Delivered", p.get("messages_delivered") or 0, GREEN),
        svg.Slice("Soft bounces", p.get("soft_bounces") or 0, ORANGE),
        svg.Slice("Hard bounces", p.get("hard_bounces") or 0, RED),
        svg.Slice("Rejected before sending", p.get("messages_rejected") or 0, PURPLE),
        svg.Slice("Processing", p.get("messages_pending") or 0, GREY),
    ]
    drawn = svg.stacked_bar(parts, label="Delivered, soft and hard bounces")
    caption = ("Soft bounces are temporary failures (operator trouble, handset off, expired "
               "after the 72-hour validity); hard bounces are permanent (invalid number, DND). "
               f"Soft {count(p.get('soft_bounces'))}, hard {count(p.get('hard_bounces'))}.")
    return page.chart("bounces", drawn, caption=caption, empty="No messages yet.")


def _audience(report: CampaignData) -> str:
    """Seed 003's metrics by list, seed 002's breakdown by platform (the numbers' original
    operator), seed 001's revenue per campaign (lib/breakdowns.py orders and explains them)."""
    sms = report.channel == "sms"
    rate = "Delivery" if sms else "Connect"
    reached = "Messages" if sms else "Contacts"

    def rate_cell(row: dict) -> tuple[str, str | None]:
        succeeded, submitted = row.get("succeeded"), row.get("submitted")
        value = succeeded / submitted if succeeded is not None and submitted else None
        return (pct(value), None if value is None else f"{value:.6f}")

    def share_cell(row: dict, total: float) -> tuple[str, str | None]:
        value = (row.get("volume") or 0) / total if total else None
        return (pct(value), None if value is None else f"{value:.6f}")

    def breakdown(rows: list[dict], label: str, first: list[str], table_id: str) -> list[str]:
        """Named groups by volume, the unplaced after them (with why); the rate's denominator
        (submitted) beside it."""
        ordered = placed_first(rows, lambda r: r[label], lambda r: r["volume"])
        cells, out = [], []
        with_kind = len(first) == 2  # the lists table has a Kind column; a row may lack one
        order = {"list": 0, "tag": 1, "none": 2}
        for kind in sorted({r.get("label_kind") or "" for r in ordered},
                           key=lambda k: order.get(k, 3)):
            group = [r for r in ordered if (r.get("label_kind") or "") == kind]
            total = sum(r.get("volume") or 0 for r in group)
            cells += [[(r[label], None), *([(r.get("label_kind") or DASH, None)]
                                            if with_kind else []),
                       (count(r["volume"]), None), share_cell(r, total),
                       (count(r["submitted"]), None), (count(r["succeeded"]), None),
                       (count(r["failed"]), None), rate_cell(r)] for r in group]
        headers = [*first, reached, "Share", "Submitted", "Delivered" if sms else "Connected",
                   "Failed", f"{rate} (of submitted)"]
        out.append(page.table(headers, cells, numeric=[False] * len(first) + [True] * 6,
                              table_id=table_id))
        for note in unplaced_notes([r for r in ordered if r.get("label_kind") != "tag"],
                                   lambda r: r[label], lambda r: r["volume"],
                                   what="messages" if sms else "contacts"):
            out.append(f'<p class="note">{escape(note)}.</p>')
        return out

    out = []
    if report.lists:
        out += breakdown(report.lists, "label", ["List or tag", "Kind"], "list-table")
        out.append('<p class="note">People are counted by the lists and tags their contact had '
                   "when the campaign reached them (contacts load).</p>")
    else:
        out.append('<p class="note">No contacts loaded: `campaign-analytics contacts load FILE` '
                   "adds lists and tags.</p>")
    if report.operators:
        out += breakdown(report.operators, "original_operator", ["Original operator"],
                         "operator-table")
        out.append('<p class="note">The operator a number\'s range was allocated to '
                   "(phonenumbers' data): a ported number counts under its original operator."
                   "</p>")
    perf = report.performance
    if perf.get("conversions"):
        per_cost = perf.get("revenue_per_cost")
        revenue = f"{perf.get('revenue') or 0:,.2f}"
        out.append(f'<p class="note">Revenue credited to this campaign: {escape(revenue)} '
                   f'from {count(perf["conversions"])} conversion(s)'
                   + (f", {per_cost:,.1f}x its cost in the same currency" if per_cost is not None
                      else "; its cost is in provider units (set SMS_CREDIT_PRICE and "
                      "VOICE_PULSE_PRICE to compare the two)")
                   + " (the latest campaign to reach the person within the attribution "
                   "window).</p>")
    return "".join(out)
