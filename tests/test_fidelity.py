"""The warehouse says what the provider's documents say: each test quotes the line it pins
(the documents are summarised in docs/provider-rules.md)."""

from __future__ import annotations

import csv
from pathlib import Path

from orchestration.lib.rules import DBT_PROJECT_DIR, health_thresholds

ERROR_CODES = list(csv.DictReader((DBT_PROJECT_DIR / "seeds" / "dim_error_codes.csv").open()))
SMS_CATEGORIES = {"dlt_rejection", "dnd_block", "invalid_number", "network_failure",
                  "handset_off", "expired", "unknown"}
VOICE_CATEGORIES = {"busy", "no_answer", "call_failed", "canceled"}


def _row(code: str, channel: str = "sms") -> dict[str, str]:
    return next(r for r in ERROR_CODES if r["code"] == code and r["channel"] == channel)


def test_detailed_status_codes_are_exactly_seed_004s_table() -> None:
    """Seed 004, Failed Status Codes: "FAILED_DLT_TEMPLATE | 30001", "FAILED_DLT_ENTITY |
    30002", "FAILED_INVALID_SENDER | 30003", "FAILED_DND | 30004", "FAILED_INVALID_NUMBER |
    30005", "FAILED_OPERATOR | 30010", "FAILED_EXPIRED | 30011", "FAILED_UNKNOWN | 30099"."""
    seed_004 = {30001: "FAILED_DLT_TEMPLATE", 30002: "FAILED_DLT_ENTITY",
                30003: "FAILED_INVALID_SENDER", 30004: "FAILED_DND", 30005: "FAILED_INVALID_NUMBER",
                30010: "FAILED_OPERATOR", 30011: "FAILED_EXPIRED", 30099: "FAILED_UNKNOWN"}
    numbered = {int(r["detailed_status_code"]): r["code"] for r in ERROR_CODES
                if r["detailed_status_code"]}
    assert numbered == seed_004
    # No number tied to a code the seeds give none (DLT_TEMPLATE_NOT_FOUND, DLT_BLACKLISTED...).
    assert all(not r["detailed_status_code"] for r in ERROR_CODES
               if r["code_type"] == "error_code")
    assert "HANDSET_OFF" not in {r["code"] for r in ERROR_CODES}  # not a seed 004 status


def test_voice_outcomes_have_their_own_categories_and_the_seeds_meaning() -> None:
    """Seed 001, Status Categories: "busy | Retriable | Recipient's line was engaged";
    "no-answer | Retriable | Call rang but was not picked up within the ring timeout";
    "failed | Terminal | Call could not connect (invalid number, network error, DND)";
    "canceled | Terminal | Call was cancelled before connecting (campaign paused or
    force-completed)"."""
    voice = {r["code"]: r for r in ERROR_CODES if r["channel"] == "voice"}
    assert {code: r["error_category"] for code, r in voice.items()} == {
        "busy": "busy", "no-answer": "no_answer", "failed": "call_failed", "canceled": "canceled"}
    assert "engaged" in voice["busy"]["description"]
    assert "not picked up" in voice["no-answer"]["description"]
    assert "invalid number, network error, DND" in voice["failed"]["description"]
    assert "paused or force-completed" in voice["canceled"]["description"]
    assert {r["error_category"] for r in ERROR_CODES if r["channel"] == "sms"} <= SMS_CATEGORIES
    assert not VOICE_CATEGORIES & SMS_CATEGORIES


def test_soft_and_hard_bounces_are_decided_with_their_reasons() -> None:
    """Seed 000: "Network Failure | Operator outage, congestion | Temporary failure" and
    "Invalid Number | Wrong format, disconnected number | Permanent failure"; seed 003 lists
    "The phone number or country code is invalid" among soft bounces. The seed file picks one
    and says why."""
    assert _row("FAILED_OPERATOR")["bounce_type"] == "soft"
    invalid = _row("FAILED_INVALID_NUMBER")
    assert invalid["bounce_type"] == "hard"
    assert "permanent" in invalid["description"] and "soft bounces" in invalid["description"]
    assert _row("busy", "voice")["bounce_type"] == _row("no-answer", "voice")["bounce_type"] \
        == "soft"  # retried by the provider, as a temporary SMS failure is
    assert "judgement call" in _row("failed", "voice")["description"]
    assert all(r["bounce_type"] in ("soft", "hard", "") for r in ERROR_CODES)


def test_the_health_thresholds_are_the_seeds_ranges() -> None:
    """Seed 000: "Delivery Rate ... 92--98%", "Rates below 90% warrant investigation",
    "Rejection Rate ... Below 5%", "Failure Rate ... Below 8%", "Effective Reach ... 85--95%".
    Seed 001: "Connect Rate ... 40--70%", "Answer Rate ... 50--80%", "Failure Rate ... Below
    15%", "Retry Success Rate ... 20--40%"."""
    checks = {(t.channel, t.metric, t.level): (t.comparison, t.threshold)
              for t in health_thresholds()}
    assert checks == {
        ("sms", "delivery_rate", "investigate"): ("below", 0.90),
        ("sms", "delivery_rate", "watch"): ("below", 0.92),
        ("sms", "rejection_rate", "investigate"): ("at_or_above", 0.05),
        ("sms", "failure_rate", "investigate"): ("at_or_above", 0.08),
        ("sms", "effective_reach", "watch"): ("below", 0.85),
        ("voice", "connect_rate", "investigate"): ("below", 0.40),
        ("voice", "failure_rate", "investigate"): ("at_or_above", 0.15),
        ("voice", "answer_rate", "watch"): ("below", 0.50),
        ("voice", "retry_success_rate", "watch"): ("below", 0.20),
        # Seed 001: "If your retry connect rate drops below 10% on a specific retry attempt,
        # the additional retries may not be cost-effective": the one retry rule.
        ("voice", "weakest_retry_connect_rate", "watch"): ("below", 0.10),
    }


def test_every_rate_column_names_its_denominator() -> None:
    """Seed 000's trend table divides delivered by total ("10,000 ... 9,200 ... 92%") where its
    formula table divides by submitted: every published rate says which."""
    import yaml

    missing = []
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").glob("*.yml")):
        for model in yaml.safe_load(Path(path).read_text()).get("models", []):
            for column in model.get("columns", []):
                name = column["name"]
                if name.endswith(("_rate", "_reach", "share_of_total")) and "/" not in \
                        column.get("description", ""):
                    missing.append(f"{model['name']}.{name}")
    assert missing == []


def test_every_demo_campaigns_mart_verdict_is_its_reports_verdict(demo_run) -> None:
    """One verdict: the published marts' health_status and health_reasons equal the report's
    level and reasons for every campaign of `make demo`, from one thresholds file."""
    from zoneinfo import ZoneInfo

    import duckdb

    from orchestration.lib.reports.campaign_data import load_campaigns
    from orchestration.lib.reports.verdict import judge

    con = duckdb.connect(str(demo_run["published"]), read_only=True)
    try:
        marts = {campaign_id: (status, reasons) for campaign_id, status, reasons in con.execute("""
            SELECT campaign_id, health_status, health_reasons FROM marts.sms_campaign_performance
            UNION ALL
            SELECT campaign_id, health_status, health_reasons
            FROM marts.voice_campaign_performance""").fetchall()}
        reports = load_campaigns(con, sorted(marts), ZoneInfo("Asia/Kolkata"))
    finally:
        con.close()
    verdicts = {campaign_id: (verdict.level, ", ".join(verdict.reasons) or None)
                for campaign_id, verdict in ((c, judge(r)) for c, r in reports.items())}
    # the demo's 12 Exotel campaigns, and Brevo's (campaigns and transactional days)
    assert len(verdicts) == len(marts) > 12 and verdicts == marts
    assert len({status for status, _ in marts.values()}) > 1  # more than one level
    assert any(reasons for _, reasons in marts.values())


def test_the_demos_voice_failure_rates_are_failed_and_canceled_over_contacts(demo_run) -> None:
    """Seed 001: "Failure Rate | (failed / created) x 100" with "failed | Contacts not reached
    after all attempts (including retries)"; its stats add up only with canceled inside failed
    (2500 = 1875 + 425 + 87 + 113)."""
    import duckdb

    con = duckdb.connect(str(demo_run["published"]), read_only=True)
    try:
        rows = con.execute("""
            SELECT contacts, contacts_call_failed + contacts_canceled, failure_rate,
                   reported_failed, reported_created
            FROM marts.voice_campaign_performance""").fetchall()
    finally:
        con.close()
    assert len(rows) == 4
    for contacts, failed, rate, reported_failed, reported_created in rows:
        assert rate == failed / contacts == reported_failed / reported_created
