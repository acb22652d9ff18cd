"""The summaries a run prints: KPIs per campaign, who the campaigns reached, revenue, data
quality."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orchestration.lib.breakdowns import placed_first, top_groups, unplaced_notes
from orchestration.lib.published import open_published
from orchestration.lib.published_state import has_table, read_status
from orchestration.lib.text_tables import format_table, pct


def sms_totals(path: Path) -> tuple[int, int, int, int]:
    """All SMS campaigns' messages: (total, delivered, submitted, pending)."""
    con = open_published(path)
    try:
        return con.execute("""
            SELECT coalesce(sum(messages_total), 0)::BIGINT,
                   coalesce(sum(messages_delivered), 0)::BIGINT,
                   coalesce(sum(messages_submitted), 0)::BIGINT,
                   coalesce(sum(messages_pending), 0)::BIGINT
            FROM marts.sms_campaign_performance""").fetchone()
    finally:
        con.close()


def kpi_summary(path: Path) -> str:
    """The campaign KPIs a user sees at the end of `demo` and `sync`."""
    con = open_published(path)
    try:
        sms = con.execute("""
            SELECT provider, campaign_name, campaign_status, messages_total, messages_delivered,
                   delivery_rate, rejection_rate, effective_reach, messages_pending,
                   health_status
            FROM marts.sms_campaign_performance WHERE traffic_kind = 'campaign'
            ORDER BY started_at""").fetchall()
        # API-sent traffic (one pseudo-campaign per tag and day): one line per provider and tag.
        transactional = con.execute("""
            SELECT provider, split_part(campaign_id, '.', 2) AS tag, count(*) AS days,
                   sum(messages_total), sum(messages_delivered),
                   sum(messages_delivered) / nullif(sum(messages_submitted), 0),
                   sum(messages_rejected) / nullif(sum(messages_total), 0),
                   sum(messages_pending)
            FROM marts.sms_campaign_performance WHERE traffic_kind = 'transactional'
            GROUP BY ALL ORDER BY 1, 2""").fetchall()
        providers = con.execute("""
            SELECT provider, destination_country, sum(messages_total),
                   sum(messages_delivered) / nullif(sum(messages_submitted), 0),
                   sum(messages_failed) / nullif(sum(messages_submitted), 0),
                   sum(messages_rejected) / nullif(sum(messages_total), 0),
                   sum(total_cost_in_currency) / nullif(sum(delivered_costed), 0)
            FROM marts.provider_comparison GROUP BY ALL ORDER BY 1, 3 DESC""").fetchall()
        voice = con.execute("""
            SELECT campaign_name, campaign_status, contacts, contacts_connected, connect_rate,
                   answer_rate, failure_rate, retry_success_rate, contacts_pending, health_status
            FROM marts.voice_campaign_performance ORDER BY started_at""").fetchall()
    finally:
        con.close()
    parts = []
    if sms:
        parts.append("SMS campaigns")
        parts.append(format_table(
            ["provider", "campaign", "status", "messages", "delivered", "delivery", "rejection",
             "reach", "pending", "health"],
            [(v, n, s, t, d, pct(dr), pct(rr), pct(er), p, h)
             for v, n, s, t, d, dr, rr, er, p, h in sms]))
    if transactional:
        parts.append("\nTransactional SMS (sent through the API; by tag, one campaign a day)")
        parts.append(format_table(
            ["provider", "tag", "days", "messages", "delivered", "delivery", "rejection",
             "pending"],
            [(v, g, n, t, d, pct(dr), pct(rr), p) for v, g, n, t, d, dr, rr, p in transactional]))
    if voice:
        parts.append("\nVoice campaigns")
        parts.append(format_table(
            ["campaign", "status", "contacts", "connected", "connect", "answer", "failure",
             "retry success", "pending", "health"],
            [(n, s, c, k, pct(cr), pct(ar), pct(fr), pct(rs), p, h)
             for n, s, c, k, cr, ar, fr, rs, p, h in voice]))
    if len({row[0] for row in providers}) > 1:
        parts.append("\nSMS providers side by side (marts.provider_comparison, all weeks)")
        parts.append(format_table(
            ["provider", "country", "messages", "delivery", "failure", "rejection",
             "cost / delivered"],
            [(v, c, t, pct(dr), pct(fr), pct(rr), "-" if cost is None else f"{cost:.3f}")
             for v, c, t, dr, fr, rr, cost in providers]))
    total, delivered, submitted, pending = sms_totals(path)
    if total:
        rate = delivered / submitted if submitted else None
        parts.append(f"\nAll SMS: {total:,} messages, {delivered:,} delivered "
                     f"({pct(rate)} of submitted), {pending:,} still awaiting receipts.")
    return "\n".join(parts) if parts else "No campaigns yet."


def audience_summary(path: Path) -> str:
    """Who the campaigns reached, all campaigns together: by contact list and by the numbers'
    original operator, as `demo` shows them; the rate is succeeded / submitted, both shown."""
    con = open_published(path)
    try:
        lists = con.execute("""
            SELECT channel, label, sum(volume), sum(submitted), sum(succeeded),
                   sum(succeeded) / nullif(sum(submitted), 0)
            FROM marts.campaign_list_performance WHERE label_kind IN ('list', 'none')
            GROUP BY ALL""").fetchall()
        revenue = con.execute("""
            SELECT provider, 'sms', campaign_name, conversions, revenue, revenue_per_cost
            FROM marts.sms_campaign_performance WHERE conversions > 0
            UNION ALL
            SELECT provider, 'voice', campaign_name, conversions, revenue, revenue_per_cost
            FROM marts.voice_campaign_performance WHERE conversions > 0
            ORDER BY 2 DESC, 1, 3""").fetchall()
        operators = con.execute("""
            SELECT channel, original_operator, sum(volume), sum(submitted), sum(succeeded),
                   sum(succeeded) / nullif(sum(submitted), 0)
            FROM marts.campaign_operator_performance
            GROUP BY ALL""").fetchall()
    finally:
        con.close()
    headers = ["channel", "{}", "reached", "share", "submitted", "succeeded",
               "succeeded / submitted"]

    def table(rows: list[tuple], kind: str) -> list[str]:
        lines, notes = [], []
        shown = []
        for channel in ("voice", "sms"):
            group = [row for row in rows if row[0] == channel]
            total = sum(row[2] or 0 for row in group)
            ordered = top_groups(placed_first(group, lambda row: row[1], lambda row: row[2]),
                                 MOST_GROUPS)
            shown += [(c, n, v, pct(v / total if total else None), b, s, pct(r))
                      for c, n, v, b, s, r in ordered]
            unit = "messages" if channel == "sms" else "contacts"
            notes += [f"  {channel} {note}" for note in unplaced_notes(
                group, lambda row: row[1], lambda row: row[2], what=f"the {unit} reached")]
        lines.append(format_table([h.format(kind) for h in headers], shown))
        return lines + notes

    return "\n".join([
        "By contact list (marts.campaign_list_performance; also by tag)",
        *table(lists, "list"),
        "\nBy the numbers' original operator (marts.campaign_operator_performance; also by "
        "region)",
        *table(operators, "operator"),
        "\nRevenue credited to campaigns (conversions; the campaign performance marts, "
        "marts.conversion_attribution)",
        format_table(["provider", "channel", "campaign", "conversions", "revenue",
                      "revenue / cost"],
                     [(v, c, n, k, f"{r:,.2f}", "-" if p is None else f"{p:,.1f}x")
                      for v, c, n, k, r, p in revenue]) if revenue else "  none credited",
        *([UNPRICED_NOTE] if revenue and any(p is None for *_, p in revenue) else [])])


# A breakdown shows this many named groups per channel, the others folded into one row.
MOST_GROUPS = 10

# Costs are the provider's units (SMS credits, voice pulses), revenue is money: no ratio of
# the two until the units have a price.
UNPRICED_NOTE = ("  (revenue / cost: '-' until SMS_CREDIT_PRICE, VOICE_PULSE_PRICE and "
                 "BREVO_CREDIT_PRICE give the price of a credit and a pulse in "
                 "REVENUE_CURRENCY; costs are in those units)")


def _some(items: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def quality_summary(path: Path, run_id: str, failed_checks: Sequence[str]) -> str:
    """What a run's user should know beyond the KPIs: records quarantined, campaigns whose
    details do not add up to their stats, checks that failed."""
    status = read_status(path)
    con = open_published(path)
    try:
        records, rejected = con.execute(
            "SELECT coalesce(sum(records), 0), coalesce(sum(rejected), 0) FROM ops.ingest_runs "
            "WHERE run_id = ?", [run_id]).fetchall()[0]
        skipped = [f"{c} {i}" for c, i in con.execute(
            "SELECT channel, campaign_id FROM ops.campaign_pull_failures WHERE run_id = ? "
            "ORDER BY 1, 2", [run_id]).fetchall()] if has_table(
            con, "ops", "campaign_pull_failures") else []
    finally:
        con.close()
    share = f" ({rejected / records:.2%} of {records:,})" if records else ""
    lines = ["Data quality",
             f"  rejected records: {rejected:,} in this run{share}, {status.rejected_total:,} "
             "in all (reasons: `campaign-analytics status`)"]
    unreconciled = [f"{channel} {campaign}" for channel, campaign, *_ in status.unreconciled]
    lines.append("  ended campaigns whose details do not reconcile with their stats: "
                 + (_some(unreconciled) if unreconciled else "none"))
    lines.append("  failed checks: " + (_some(list(failed_checks)) if failed_checks else "none"))
    if skipped:
        lines.append("  campaigns the API failed for, left out of this run and tried again on "
                     f"the next: {_some(skipped)}")
    return "\n".join(lines)
