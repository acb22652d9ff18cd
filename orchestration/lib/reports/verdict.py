"""A campaign's health in one sentence: its rates against the seeds' healthy ranges, and the
largest cause of failure with what to do about it.

Ranges (seed 000 for SMS, seed 001 for voice):
  SMS    delivery 92-98% (below 90% warrants investigation), rejection below 5%,
         failure below 8%, effective reach 85-95%
  voice  connect 40-70%, answer 50-80%, failure below 15%, retry success 20-40%
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.reports.campaign_data import CampaignData
from orchestration.lib.reports.format import count, pct

HEALTHY, WATCH, INVESTIGATE, NO_DATA = "healthy", "watch", "investigate", "no data"

CATEGORY_LABELS = {
    "dlt_rejection": "DLT rejections",
    "dnd_block": "DND blocks",
    "invalid_number": "invalid numbers",
    "network_failure": "network failures",
    "handset_off": "handsets off or unreachable",
    "expired": "expired messages",
    "unknown": "unknown failures",
}
VOICE_STATUS_LABELS = {
    "no-answer": "unanswered calls",
    "busy": "busy lines",
    "failed": "calls that could not connect",
    "canceled": "cancelled calls",
}


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None
    healthy: str  # the range, in words
    ok: bool | None  # None: no value to judge


@dataclass
class Cause:
    label: str
    failures: int
    share: float
    action: str
    codes: list[tuple[str, int]] = field(default_factory=list)  # (code, failures)


@dataclass
class Verdict:
    level: str
    sentence: str
    checks: list[Check] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def failure_causes(report: CampaignData) -> list[Cause]:
    """Failures grouped as the report shows them: by category (SMS) or final status (voice),
    largest first, each with the provider's recommended action for its largest code."""
    groups: dict[str, dict[str, Any]] = {}
    for row in report.errors:  # ordered by failures, largest first
        key = row["error_category"] if report.channel == "sms" else row["error_code"]
        group = groups.setdefault(key, {"failures": 0, "action": row["recommended_action"],
                                        "codes": []})
        group["failures"] += row["failures"]
        group["codes"].append((row["error_code"], row["failures"]))
    total = sum(g["failures"] for g in groups.values())
    causes = [
        Cause(label=(CATEGORY_LABELS if report.channel == "sms" else VOICE_STATUS_LABELS)
              .get(key, key or "unknown"),
              failures=g["failures"], share=g["failures"] / total if total else 0.0,
              action=g["action"] or "No provider guidance for this code", codes=g["codes"])
        for key, g in groups.items()
    ]
    return sorted(causes, key=lambda c: (-c.failures, c.label))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _cause_clause(causes: list[Cause], noun: str) -> str:
    if not causes:
        return f"no {noun}."
    top = causes[0]
    total = sum(c.failures for c in causes)
    return (f"{pct(top.share)} of the {count(total)} {noun} are {top.label} — "
            f"{_lower_first(top.action).rstrip('.')}.")


def judge(report: CampaignData) -> Verdict:
    return _judge_sms(report) if report.channel == "sms" else _judge_voice(report)


def _judge_sms(report: CampaignData) -> Verdict:
    perf = report.performance
    causes = failure_causes(report)
    if not perf.get("messages_total"):
        return Verdict(NO_DATA, "No messages yet: nothing has been sent in this campaign.",
                       causes=causes)
    delivery, rejection = perf.get("delivery_rate"), perf.get("rejection_rate")
    failure, reach = perf.get("failure_rate"), perf.get("effective_reach")
    checks = [
        Check("Delivery rate", delivery, "92–98%", None if delivery is None else delivery >= 0.92),
        Check("Rejection rate", rejection, "below 5%",
              None if rejection is None else rejection < 0.05),
        Check("Failure rate", failure, "below 8%", None if failure is None else failure < 0.08),
        Check("Effective reach", reach, "85–95%", None if reach is None else reach >= 0.85),
    ]
    if delivery is None:
        return Verdict(NO_DATA, "No message has reached the operator yet, so there is no "
                       "delivery rate to judge.", checks, causes)
    problems = []
    if delivery < 0.90:
        problems.append(f"delivery {pct(delivery)} is below 90%")
    if rejection is not None and rejection >= 0.05:
        problems.append(f"rejection {pct(rejection)} is above 5%")
    if failure is not None and failure >= 0.08:
        problems.append(f"failure {pct(failure)} is above 8%")
    noun = "failures and rejections"
    if problems:
        sentence = f"Investigate: {', '.join(problems)}. {_cause_clause(causes, noun)}"
        return Verdict(INVESTIGATE, sentence, checks, causes)
    watch = []
    if delivery < 0.92:
        watch.append(f"delivery {pct(delivery)} is below the healthy 92–98%")
    if reach is not None and reach < 0.85:
        watch.append(f"effective reach {pct(reach)} is below 85%")
    if watch:
        return Verdict(WATCH, f"Watch: {', '.join(watch)}. {_cause_clause(causes, noun)}",
                       checks, causes)
    if not causes:
        return Verdict(HEALTHY, f"Healthy: delivery {pct(delivery)}, with no failures or "
                       "rejections.", checks, causes)
    return Verdict(HEALTHY, f"Healthy: delivery {pct(delivery)} is within or above 92–98% and "
                   f"rejection {pct(rejection)} is below 5%. Largest cause: "
                   f"{_cause_clause(causes, noun)}", checks, causes)


def _judge_voice(report: CampaignData) -> Verdict:
    perf = report.performance
    causes = failure_causes(report)
    if not perf.get("contacts"):
        return Verdict(NO_DATA, "No calls yet: no contact has been dialled in this campaign.",
                       causes=causes)
    connect, answer = perf.get("connect_rate"), perf.get("answer_rate")
    failure, retry = perf.get("failure_rate"), perf.get("retry_success_rate")
    checks = [
        Check("Connect rate", connect, "40–70%", None if connect is None else connect >= 0.40),
        Check("Answer rate", answer, "50–80%", None if answer is None else answer >= 0.50),
        Check("Failure rate", failure, "below 15%", None if failure is None else failure < 0.15),
        Check("Retry success rate", retry, "20–40%", None if retry is None else retry >= 0.20),
    ]
    noun = "unreached contacts"
    problems = []
    if connect is not None and connect < 0.40:
        problems.append(f"connect rate {pct(connect)} is below 40%")
    if failure is not None and failure >= 0.15:
        problems.append(f"failure {pct(failure)} is above 15%")
    if problems:
        return Verdict(INVESTIGATE, f"Investigate: {', '.join(problems)}. "
                       f"{_cause_clause(causes, noun)}", checks, causes)
    watch = []
    if answer is not None and answer < 0.50:
        watch.append(f"answer rate {pct(answer)} is below 50%")
    if retry is not None and retry < 0.20:
        watch.append(f"retries connect only {pct(retry)} of retried contacts (healthy 20–40%)")
    if watch:
        return Verdict(WATCH, f"Watch: {', '.join(watch)}. {_cause_clause(causes, noun)}",
                       checks, causes)
    return Verdict(HEALTHY, f"Healthy: connect rate {pct(connect)} is within or above 40–70% "
                   f"and answer rate {pct(answer)} is within or above 50–80%. Largest cause: "
                   f"{_cause_clause(causes, noun)}", checks, causes)
