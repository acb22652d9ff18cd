"""A campaign's health in one sentence: its rates against the provider's healthy ranges (the
dbt seed health_thresholds, which the marts' health_status reads too), and the largest cause of
failure with what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.reports.campaign_data import CampaignData
from orchestration.lib.reports.format import count, pct
from orchestration.lib.rules import HealthThreshold, health_thresholds, retry_rule

# The levels, as the marts' health_status spells them.
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
# The final statuses a voice failure rate counts (the marts' voice failed = failed + canceled).
FAILURE_STATUSES = frozenset({"failed", "canceled"})
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
    # The thresholds that fired, as the marts' health_reasons words them.
    reasons: list[str] = field(default_factory=list)


def failure_causes(report: CampaignData) -> list[Cause]:
    """Failures grouped as the report shows them: by category (SMS) or final status (voice),
    largest first, each with the provider's recommended action for its largest code."""
    groups: dict[str, dict[str, Any]] = {}
    for row in report.errors:  # ordered by failures, largest first
        key = row["error_category"] if report.channel == "sms" else row["error_code"]
        group = groups.setdefault(key, {"failures": 0, "action": row["recommended_action"],
                                        "codes": []})
        group["failures"] += row["failures"] or 0
        group["codes"].append((row["error_code"], row["failures"] or 0))
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
    """The campaign's level and sentence, from the thresholds the marts' health_status uses
    (dbt seed health_thresholds), so the report and the mart always agree."""
    perf = report.performance
    causes = failure_causes(report)
    sms = report.channel == "sms"
    noun = "failures and rejections" if sms else "unreached contacts"
    has_data = ((perf.get("messages_submitted") or 0) + (perf.get("messages_rejected") or 0) > 0
                if sms else (perf.get("contacts") or 0) > 0)
    if not has_data:
        sentence = ("No messages yet: nothing has reached the operator in this campaign." if sms
                    else "No calls yet: no contact has been dialled in this campaign.")
        return Verdict(NO_DATA, sentence, causes=causes)

    thresholds = [t for t in health_thresholds() if t.channel == report.channel]
    checks, seen = [], set()
    for threshold in thresholds:
        if threshold.metric in seen:
            continue
        seen.add(threshold.metric)
        value = perf.get(threshold.metric)
        ok = None if value is None else not any(
            t.fires(value) for t in thresholds if t.metric == threshold.metric)
        checks.append(Check(threshold.label, value, threshold.healthy_range, ok))

    fired = [t for t in thresholds if t.fires(perf.get(t.metric))]
    if not sms and retry_rule().fires(perf.get(retry_rule().metric)):
        causes = [_without_more_retries(c) for c in causes]
    level = (INVESTIGATE if any(t.level == INVESTIGATE for t in fired)
             else WATCH if fired else HEALTHY)
    if level != HEALTHY:
        problems, named = [], set()
        for threshold in fired:  # the seed's order: the worst reading of each metric first
            if threshold.level == level and threshold.metric not in named:
                named.add(threshold.metric)
                problems.append(_problem(threshold, perf[threshold.metric]))
        # The causes explain what fired: a voice failure rate counts failed and canceled calls,
        # so its causes are those, not the unanswered calls a connect rate would count.
        if not sms and named == {"failure_rate"}:
            causes_named = [c for c in causes if c.codes and c.codes[0][0] in FAILURE_STATUSES]
            clause = _cause_clause(_shares(causes_named), "failed or canceled calls")
        else:
            clause = _cause_clause(causes, noun)
        return Verdict(level, f"{level.capitalize()}: {', '.join(problems)}. {clause}",
                       checks, causes, problems)
    readings = ", ".join(f"{c.metric.lower()} {pct(c.value)} ({c.healthy})"
                         for c in checks[:2] if c.value is not None)
    if not causes:
        nothing = "no failures or rejections" if sms else "no unreached contacts"
        return Verdict(HEALTHY, f"Healthy: {readings}, with {nothing}.", checks, causes)
    return Verdict(HEALTHY, f"Healthy: {readings}. Largest cause: "
                   f"{_cause_clause(causes, noun)}", checks, causes)


def _shares(causes: list[Cause]) -> list[Cause]:
    """`causes` with each share taken among them alone."""
    total = sum(c.failures for c in causes)
    return [Cause(c.label, c.failures, c.failures / total if total else 0.0, c.action, c.codes)
            for c in causes]


def _without_more_retries(cause: Cause) -> Cause:
    """A cause whose advice is more retries, where the retry rule says retries do not pay."""
    if "more retries" not in cause.action:
        return cause
    rule = retry_rule()
    advice = (f"{cause.action.split(';')[0].strip()}; not more retries: a retry here connected "
              f"below {rule.threshold * 100:g}% (retry effectiveness)")
    return Cause(cause.label, cause.failures, cause.share, advice, cause.codes)


def _problem(threshold: HealthThreshold, value: float) -> str:
    side = "below" if threshold.comparison == "below" else "at or above"
    return f"{threshold.short_label} {pct(value)} is {side} {threshold.threshold * 100:g}%"
