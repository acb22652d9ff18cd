"""Deterministic synthetic account data for the sandbox API.

An account is a list of campaign *plans* (cheap metadata, generated up front) and, per campaign,
detail arrays generated on first use from a seed of their own: `(seed, channel, campaign index)`.
So a campaign's data never depends on which others were generated, or in what order, and the
whole account is reproducible from the seed.

Each record carries its *final* outcome and the time it happens (a delivery receipt, a call's
end). What the API shows is resolved against the server's clock at request time, which is how
receipts "arrive late": a message whose receipt lies after `now` is still `sent`, and becomes
`delivered` (with a newer `updated_at`) once the clock passes it.

The mix of outcomes follows the seeds: seed 000/004's SMS statuses and error codes (DLT
rejections, DND, invalid numbers, operator failures, expiries at the 72-hour validity), seed
001's voice retry table (about 60% / 25% / 17% connect on first attempt / first / second retry).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

IST_OFFSET_SECONDS = 5 * 3600 + 30 * 60
IST_SUFFIX = "+05:30"
SMS_VALIDITY_SECONDS = 72 * 3600

# ---- SMS outcomes -------------------------------------------------------------------------
# (status, error_code, error_message, detailed_status, detailed_status_code)
SMS_OUTCOMES: list[tuple[str, str | None, str | None, str, int | None]] = [
    ("delivered", None, None, "DELIVERED_TO_HANDSET", 20000),
    ("rejected", "DLT_TEMPLATE_MISMATCH", "Message body does not match registered template",
     "FAILED_DLT_TEMPLATE", 30001),
    ("rejected", "DLT_ENTITY_NOT_FOUND", "Entity ID is not valid", "FAILED_DLT_ENTITY", 30002),
    ("rejected", "DLT_TEMPLATE_NOT_FOUND", "Template ID is not registered or not yet propagated",
     "FAILED_DLT_TEMPLATE", 30001),
    ("rejected", "DLT_SENDER_MISMATCH", "Sender ID does not match the template's Sender ID",
     "FAILED_INVALID_SENDER", 30003),
    ("rejected", "DLT_BLACKLISTED", "Entity or template has been blacklisted by the operator",
     "FAILED_DLT_ENTITY", 30002),
    ("rejected", "FAILED_DND", "Recipient is on the DND registry", "FAILED_DND", 30004),
    ("rejected", "FAILED_INVALID_NUMBER", "Invalid phone number", "FAILED_INVALID_NUMBER", 30005),
    ("failed", "FAILED_OPERATOR", "Operator-side delivery failure", "FAILED_OPERATOR", 30010),
    ("failed", "FAILED_INVALID_NUMBER", "Invalid or unreachable phone number",
     "FAILED_INVALID_NUMBER", 30005),
    ("failed", "FAILED_DND", "Recipient is on the DND registry", "FAILED_DND", 30004),
    ("failed", "FAILED_UNKNOWN", "Unknown failure", "FAILED_UNKNOWN", 30099),
    ("expired", "FAILED_EXPIRED", "Message validity period expired", "EXPIRED", 30011),
]
SMS_DELIVERED, SMS_DLT_TEMPLATE, SMS_DLT_ENTITY, SMS_DLT_TEMPLATE_NF, SMS_DLT_SENDER = 0, 1, 2, 3, 4
SMS_DLT_BLACKLIST, SMS_REJ_DND, SMS_REJ_INVALID, SMS_FAIL_OPERATOR, SMS_FAIL_INVALID = 5, 6, 7, 8, 9
SMS_FAIL_DND, SMS_FAIL_UNKNOWN, SMS_EXPIRED = 10, 11, 12
SMS_REJECTED_OUTCOMES = frozenset(range(1, 8))

# Stages a message passes through before its outcome is known: (status, detailed_status).
SMS_PENDING_STAGES = [("queued", "QUEUED"), ("sending", "SENDING"),
                      ("submitted", "SUBMITTED_TO_CARRIER"), ("sent", "SENT")]
STAGE_QUEUED, STAGE_SENDING, STAGE_SUBMITTED, STAGE_SENT, STAGE_FINAL = 0, 1, 2, 3, 4

# ---- voice outcomes -----------------------------------------------------------------------
CALL_STATUSES = ["completed", "busy", "no-answer", "failed", "canceled"]
CALL_COMPLETED, CALL_BUSY, CALL_NO_ANSWER, CALL_FAILED, CALL_CANCELED = 0, 1, 2, 3, 4

# Malformed record kinds (fault injection): 0 = a good record.
MALFORMED_KINDS = ["unknown_status", "missing_id", "bad_timestamp", "negative_cost", "bad_parts"]

VOICE_NAMES = ["Payment Reminder", "Loan EMI Reminder", "Appointment Reminder", "Feedback Survey",
               "Delivery Confirmation", "Renewal Reminder", "Collections Follow-up"]
SMS_NAMES = {
    "transactional": ["Order Shipment", "Account Alert", "OTP Batch", "Payment Receipt"],
    "promotional": ["Festive Sale", "Promo Offer", "New Arrivals", "Weekend Deals"],
    "service": ["Appointment Update", "Policy Renewal", "Service Advisory"],
}
SENDER_IDS = ["EXOTL", "SHOPIN", "BNKALR", "HLTHCR", "TRVLIN"]
EXOPHONES = ["08047094890", "08047112233", "02261234567", "+918047094890"]


def to_epoch(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetimes given to the sandbox must carry a time zone")
    return int(value.timestamp())


@dataclass(frozen=True)
class AccountConfig:
    """The shape of a synthetic account. Everything derives from these and `seed`."""

    seed: int = 7
    voice_campaigns: int = 4
    sms_campaigns: int = 8
    voice_contacts: tuple[int, int] = (300, 3_000)
    sms_messages: tuple[int, int] = (1_000, 10_000)
    start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end: dt.datetime = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    # Fault injection that lives in the data (HTTP faults live in the server).
    malformed_share: float = 0.0
    extra_keys_share: float = 0.0
    # SMS campaigns (by index, oldest first) whose DLT template is rejected for this share of
    # messages (DLT_TEMPLATE_MISMATCH): a configuration problem to alert on.
    dlt_problem_campaigns: tuple[int, ...] = ()
    dlt_problem_share: float = 0.20
    # An operator outage (the drop detector's case): SMS messages submitted from this instant
    # for `sms_outage_hours` fail at the operator (FAILED_OPERATOR) at this share.
    sms_outage_start: dt.datetime | None = None
    sms_outage_hours: float = 1.0
    sms_outage_share: float = 0.5

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("the account's end must be after its start")
        for name, (low, high) in (("voice_contacts", self.voice_contacts),
                                  ("sms_messages", self.sms_messages)):
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (min, max) with 1 <= min <= max")
        if self.sms_outage_start is not None and self.sms_outage_start.tzinfo is None:
            raise ValueError("sms_outage_start must carry a time zone")
        for name in ("malformed_share", "extra_keys_share", "sms_outage_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass(frozen=True)
class CampaignPlan:
    """A campaign's metadata; its details are generated from it on demand."""

    channel: str  # "voice" or "sms"
    index: int
    campaign_id: str
    name: str
    size: int  # contacts (voice) or messages (sms)
    created_at: int
    start_at: int
    end_at: int  # when the last call ended / the last message was submitted
    token: str  # prefix of the campaign's record ids
    # voice
    caller_id: str = ""
    number_of_retries: int = 0
    interval_mins: int = 0
    mechanism: str = "Linear"
    on_status: tuple[str, ...] = ()
    connect_probability: float = 0.0
    spacing_seconds: float = 1.0  # dialler pace between first attempts
    # sms
    sender_id: str = ""
    message_type: str = ""
    dlt_template_id: str = ""
    base_parts: int = 1

    def status_at(self, now: int) -> str:
        if now < self.start_at:
            return "Created"
        if now < self.end_at:
            return "In-Progress"
        return "Completed"

    def retry_offsets_seconds(self) -> list[int]:
        """Delay before retry k (1-based) after the previous attempt ended."""
        if self.mechanism == "Exponential":
            return [self.interval_mins * 60 * 2**k for k in range(self.number_of_retries)]
        return [self.interval_mins * 60] * self.number_of_retries


MAX_CALL_SECONDS = 20 + 600  # longest ring + longest talk
CALL_SPACING_SECONDS = (0.3, 3.0)  # dialler pace: seconds between first attempts


def plan_account(config: AccountConfig) -> list[CampaignPlan]:
    """Every campaign of the account, voice and SMS, each list oldest (created) first."""
    span = to_epoch(config.end) - to_epoch(config.start)
    plans: list[CampaignPlan] = []
    for channel_no, (channel, count, (low, high)) in enumerate((
        ("voice", config.voice_campaigns, config.voice_contacts),
        ("sms", config.sms_campaigns, config.sms_messages),
    )):
        # One stream per channel: adding voice campaigns leaves the SMS ones as they were.
        rng = np.random.default_rng([config.seed, 0, channel_no])
        days = rng.uniform(0, span / 86400, count)
        # Campaigns start in business hours, 09:00-19:00 IST (TRAI's window for promotions),
        # and are created half an hour to two days before.
        schedule = []
        for day in days:
            base = to_epoch(config.start) + int(day) * 86400
            ist_midnight = base - (base + IST_OFFSET_SECONDS) % 86400
            start_at = ist_midnight + int(rng.uniform(9, 19) * 3600)
            schedule.append((start_at - int(rng.uniform(0.5, 48) * 3600), start_at))
        schedule.sort()
        sizes = np.exp(rng.uniform(np.log(low), np.log(high + 1), count)).astype(np.int64)
        sizes = np.clip(sizes, low, high)
        for index, ((created_at, start_at), size) in enumerate(
            zip(schedule, sizes, strict=True)
        ):
            plans.append(_plan_campaign(channel, index, created_at, int(start_at), int(size),
                                        rng, config.seed))
    return plans


def _plan_campaign(
    channel: str, index: int, created_at: int, start_at: int, size: int,
    rng: np.random.Generator, seed: int,
) -> CampaignPlan:
    digest = hashlib.blake2s(f"{seed}:{channel}:{index}".encode(), digest_size=6).hexdigest()
    month = dt.datetime.fromtimestamp(start_at + IST_OFFSET_SECONDS, dt.UTC).strftime("%b %d")
    if channel == "voice":
        retries = int(rng.choice([0, 1, 2, 2, 2, 3]))
        interval = int(rng.choice([15, 30, 60]))
        mechanism = str(rng.choice(["Linear", "Exponential"]))
        on_status = ("busy", "no-answer") if rng.random() < 0.8 else ("busy", "no-answer", "failed")
        spacing = rng.uniform(*CALL_SPACING_SECONDS)
        plan = CampaignPlan(
            channel="voice", index=index, campaign_id=f"camp_{digest}",
            name=f"{VOICE_NAMES[int(rng.integers(len(VOICE_NAMES)))]} {month}", size=size,
            created_at=created_at, start_at=start_at, end_at=0, token=f"c{digest[:8]}",
            caller_id=EXOPHONES[int(rng.integers(len(EXOPHONES)))], number_of_retries=retries,
            interval_mins=interval, mechanism=mechanism, on_status=on_status,
            connect_probability=float(rng.uniform(0.35, 0.72)),
        )
        # The planned end bounds every attempt: the dialling window, then each retry's wait
        # plus the longest possible call.
        window = int(size * spacing) + 1
        tail = sum(offset + MAX_CALL_SECONDS for offset in plan.retry_offsets_seconds())
        end_at = start_at + window + MAX_CALL_SECONDS + tail
        return replace(plan, end_at=end_at, spacing_seconds=spacing)
    message_type = str(rng.choice(["transactional", "transactional", "promotional", "service"]))
    names = SMS_NAMES[message_type]
    # Sent over one to four hours (a provider paces a campaign), so the hours of the day hold
    # parts of several campaigns and "the best hour" is not just "the best campaign".
    throughput = size / (rng.uniform(1.0, 4.0) * 3600)  # messages submitted per second
    return CampaignPlan(
        channel="sms", index=index, campaign_id=f"sms_camp_{digest}",
        name=f"{names[int(rng.integers(len(names)))]} {month}", size=size,
        created_at=created_at, start_at=start_at, end_at=start_at + int(size / throughput) + 1,
        token=f"s{digest[:8]}", sender_id=SENDER_IDS[int(rng.integers(len(SENDER_IDS)))],
        message_type=message_type, dlt_template_id=f"1107{int(rng.integers(10**14, 10**15))}",
        base_parts=int(rng.choice([1, 1, 1, 2, 3])),
    )


def audience_size(config: AccountConfig) -> int:
    """How many people the account sends to: one and a half of its largest campaign, so every
    campaign reaches a part of one audience and people recur across campaigns and channels
    (the demo's default: 15,000 people for 25,000 messages and 3,400 voice contacts)."""
    return int(1.5 * max(config.sms_messages[1], config.voice_contacts[1]))


@functools.lru_cache(maxsize=4)
def audience(config: AccountConfig) -> np.ndarray:
    """The account's people, as their numbers (int64 national numbers), drawn once."""
    return _distinct_numbers(np.random.default_rng([config.seed, 8]), audience_size(config))


def _reached(config: AccountConfig, plan: CampaignPlan, rng: np.random.Generator,
             n: int) -> np.ndarray:
    """n distinct people of the audience for one campaign (a contact list is a subset of the
    account's people; several campaigns overlap as real ones do). Drawn from a stream of their
    own; the campaign's stream advances as it did when each campaign drew its own numbers, so
    every outcome, time and fault stays as it was."""
    rng.integers(1, 4_000_000_000 // 10)
    rng.integers(0, 4_000_000_000)
    people = audience(config)
    own = np.random.default_rng([config.seed, 9, plan.channel == "sms", plan.index])
    return people[own.choice(people.size, size=min(n, people.size), replace=False)]


def _distinct_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct Indian mobile numbers (10 digits, first digit 6-9) as int64.

    An affine map i -> (a*i + b) mod M with gcd(a, M) = 1 is a bijection on [0, M), so the
    numbers are distinct without a set or a shuffle of the whole range.
    """
    modulus = 4_000_000_000  # 2^11 * 5^9
    a = int(rng.integers(1, modulus // 10)) * 10 + 3  # ends in 3: coprime to 2 and 5
    b = int(rng.integers(0, modulus))
    return 6_000_000_000 + (a * np.arange(n, dtype=np.int64) + b) % modulus


@dataclass
class SmsDetails:
    """A campaign's messages as arrays, in API order (by planned submission time)."""

    plan: CampaignPlan
    recipient: np.ndarray  # int64 national number
    submit_at: np.ndarray  # int64 epoch: planned submission
    final_at: np.ndarray  # int64 epoch: when the outcome (receipt or rejection) is known
    outcome: np.ndarray  # int8 index into SMS_OUTCOMES
    parts: np.ndarray  # int8
    malformed: np.ndarray  # int8: 0 = good, k = MALFORMED_KINDS[k-1]
    extra_key: np.ndarray  # bool

    def stages_at(self, now: int, sl: slice = slice(None)) -> np.ndarray:
        submit, final = self.submit_at[sl], self.final_at[sl]
        stage = np.full(submit.shape, STAGE_QUEUED, dtype=np.int8)
        stage[now >= submit - 1] = STAGE_SENDING
        stage[now >= submit] = STAGE_SUBMITTED
        stage[now >= submit + 2] = STAGE_SENT
        stage[now >= final] = STAGE_FINAL
        # A rejection happens at submission time: it never shows as submitted or sent.
        rejected = np.isin(self.outcome[sl], list(SMS_REJECTED_OUTCOMES))
        stage[rejected & (stage >= STAGE_SUBMITTED)] = STAGE_FINAL
        return stage

    def statuses_at(self, now: int) -> np.ndarray:
        """Each message's API status at `now`, as strings."""
        stage = self.stages_at(now)
        status = np.array([s for s, _ in SMS_PENDING_STAGES] + [""], dtype=object)[stage]
        final_status = np.array([o[0] for o in SMS_OUTCOMES], dtype=object)[self.outcome]
        return np.where(stage == STAGE_FINAL, final_status, status)

    def stats_at(self, now: int) -> dict[str, int]:
        status = self.statuses_at(now)
        counts = {name: int(np.count_nonzero(status == name)) for name in
                  ("queued", "sending", "submitted", "sent", "delivered", "failed",
                   "expired", "rejected")}
        return {
            "total": int(self.plan.size),
            "submitted": counts["submitted"] + counts["sent"] + counts["delivered"]
            + counts["failed"] + counts["expired"],
            "delivered": counts["delivered"],
            "failed": counts["failed"] + counts["expired"],
            "pending": counts["queued"] + counts["sending"] + counts["submitted"] + counts["sent"],
            "rejected": counts["rejected"],
        }


@dataclass
class CallDetails:
    """A campaign's call attempts as arrays, in API order (by start time)."""

    plan: CampaignPlan
    contact: np.ndarray  # int32 contact index
    recipient: np.ndarray  # int64 national number
    attempt_number: np.ndarray  # int8, 1 = first
    outcome: np.ndarray  # int8 index into CALL_STATUSES
    start_at: np.ndarray  # int64 epoch
    end_at: np.ndarray  # int64 epoch
    duration: np.ndarray  # int32 seconds talked
    price: np.ndarray  # int16 pulses
    attempts_planned: np.ndarray = field(repr=False)  # per contact
    malformed: np.ndarray = field(repr=False)
    extra_key: np.ndarray = field(repr=False)

    _visible: tuple[int, np.ndarray] | None = field(default=None, repr=False)

    def visible_at(self, now: int) -> np.ndarray:
        """A CDR exists once its call has ended."""
        return self.end_at <= now

    def visible_rows(self, now: int) -> np.ndarray:
        """Row numbers listed by the API at `now`, in API order (cached per clock value)."""
        cached = self._visible
        if cached is None or cached[0] != now:
            rows = (np.arange(self.end_at.size) if now >= self.plan.end_at
                    else np.flatnonzero(self.end_at <= now))
            cached = self._visible = (now, rows)
        return cached[1]

    def stats_at(self, now: int) -> dict[str, int]:
        visible = self.visible_at(now)
        n = self.plan.size
        connected = np.zeros(n, dtype=bool)
        connected[self.contact[visible & (self.outcome == CALL_COMPLETED)]] = True
        seen = np.bincount(self.contact[visible], minlength=n)
        in_call = np.zeros(n, dtype=bool)
        in_call[self.contact[(self.start_at <= now) & ~visible]] = True
        last_outcome = np.full(n, -1, dtype=np.int8)
        # Rows are in start order, so the last visible write per contact is its latest attempt.
        last_outcome[self.contact[visible]] = self.outcome[visible]
        done = (seen == self.attempts_planned) & ~connected
        return {
            "created": int(n),
            "completed": int(connected.sum()),
            "failed": int((done & np.isin(last_outcome, [CALL_FAILED, CALL_CANCELED])).sum()),
            "busy": int((done & (last_outcome == CALL_BUSY)).sum()),
            "no_answer": int((done & (last_outcome == CALL_NO_ANSWER)).sum()),
            "in_progress": int((~connected & ~done & in_call).sum()),
            "pending": int((~connected & ~done & ~in_call).sum()),
        }


def generate_sms(plan: CampaignPlan, config: AccountConfig) -> SmsDetails:
    rng = np.random.default_rng([config.seed, 2, plan.index])
    n = plan.size
    recipients = _reached(config, plan, rng, n)
    window = plan.end_at - 1 - plan.start_at
    submit = plan.start_at + (np.arange(n) * (window / n)).astype(np.int64)

    # A campaign-level quality profile: most lists are clean, some have a DLT template problem,
    # promotions hit DND numbers.
    dlt_trouble = rng.random() < 0.15
    dlt_share = rng.uniform(0.03, 0.09) if dlt_trouble else rng.uniform(0.0, 0.006)
    dnd_share = rng.uniform(0.01, 0.05) if plan.message_type == "promotional" else 0.0
    probs = np.zeros(len(SMS_OUTCOMES))
    probs[[SMS_DLT_TEMPLATE, SMS_DLT_ENTITY, SMS_DLT_TEMPLATE_NF, SMS_DLT_SENDER,
           SMS_DLT_BLACKLIST]] = dlt_share * np.array([0.6, 0.1, 0.15, 0.1, 0.05])
    probs[SMS_REJ_DND] = dnd_share
    probs[SMS_REJ_INVALID] = rng.uniform(0.001, 0.008)
    probs[SMS_FAIL_OPERATOR] = rng.uniform(0.005, 0.03)
    probs[SMS_FAIL_INVALID] = rng.uniform(0.002, 0.01)
    probs[SMS_FAIL_DND] = 0.002 if plan.message_type == "promotional" else 0.0005
    probs[SMS_FAIL_UNKNOWN] = rng.uniform(0.0, 0.003)
    probs[SMS_EXPIRED] = rng.uniform(0.002, 0.012)
    if plan.index in config.dlt_problem_campaigns:
        # A template that stopped matching (the alerts' test case): set after every draw, so
        # the other campaigns' data and this one's other outcomes stay as they were.
        probs[SMS_DLT_TEMPLATE] = config.dlt_problem_share
    probs[SMS_DELIVERED] = 1.0 - probs.sum()
    outcome = rng.choice(len(SMS_OUTCOMES), size=n, p=probs).astype(np.int8)
    if config.sms_outage_start is not None:
        _operator_outage(config, plan, submit, outcome)

    # Receipt delays: seconds when the handset is on (slower at evening peak, seed 000's
    # time-of-day table), hours for the few whose handset is off, 72 h for expiries.
    hour = ((submit + IST_OFFSET_SECONDS) % 86400) // 3600
    median = np.where(hour >= 17, 7.0, np.where(hour >= 11, 4.5, 3.0))
    delay = np.maximum(1, rng.lognormal(np.log(median), 0.5, n)).astype(np.int64)
    handset_off = rng.random(n) < 0.03
    delay = np.where(handset_off, rng.integers(3600, 70 * 3600, n), delay)
    delay = np.where(outcome == SMS_FAIL_OPERATOR, rng.integers(60, 3600, n), delay)
    delay = np.where(np.isin(outcome, [SMS_FAIL_INVALID, SMS_FAIL_DND]),
                     rng.integers(1, 10, n), delay)
    delay = np.where(outcome == SMS_EXPIRED, SMS_VALIDITY_SECONDS, delay)
    delay = np.where(np.isin(outcome, list(SMS_REJECTED_OUTCOMES)), 0, delay)

    parts = np.full(n, plan.base_parts, dtype=np.int8)
    parts += (rng.random(n) < 0.05).astype(np.int8)  # substitutions that overflow a part
    malformed, extra = _faults(config, plan, n)
    return SmsDetails(plan, recipients, submit, submit + delay, outcome, parts, malformed, extra)


def _operator_outage(config: AccountConfig, plan: CampaignPlan, submit: np.ndarray,
                     outcome: np.ndarray) -> None:
    """Messages submitted during the outage fail at the operator, at its share (a stream of
    their own, so every other draw stays as it was). A rejection happens before the operator
    and stays."""
    start = to_epoch(config.sms_outage_start)
    during = (submit >= start) & (submit < start + int(config.sms_outage_hours * 3600))
    if not during.any():
        return
    rng = np.random.default_rng([config.seed, 4, plan.index])
    hit = during & (rng.random(outcome.size) < config.sms_outage_share)
    outcome[hit & ~np.isin(outcome, list(SMS_REJECTED_OUTCOMES))] = SMS_FAIL_OPERATOR


def generate_calls(plan: CampaignPlan, config: AccountConfig) -> CallDetails:
    rng = np.random.default_rng([config.seed, 1, plan.index])
    n = plan.size
    spacing = plan.spacing_seconds
    numbers = _reached(config, plan, rng, n)
    first_start = plan.start_at + (np.arange(n) * spacing).astype(np.int64)
    retry_offsets = plan.retry_offsets_seconds()
    # Seed 001: 60% / 25% / 17% of contacts connect on attempt 1 / 2 / 3.
    connect_scale = [1.0, 0.42, 0.28, 0.2]
    retry_on = {CALL_STATUSES.index(s) for s in plan.on_status}

    columns: dict[str, list[np.ndarray]] = {k: [] for k in
                                            ("contact", "attempt", "outcome", "start", "end",
                                             "duration", "price")}
    active = np.arange(n, dtype=np.int32)
    start = first_start
    attempts_planned = np.zeros(n, dtype=np.int8)
    for attempt in range(plan.number_of_retries + 1):
        m = active.size
        if m == 0:
            break
        p_connect = plan.connect_probability * connect_scale[min(attempt, 3)]
        rest = 1.0 - p_connect
        outcome = rng.choice(5, size=m, p=[p_connect, rest * 0.3, rest * 0.5, rest * 0.17,
                                           rest * 0.03]).astype(np.int8)
        ring = np.select(
            [outcome == CALL_COMPLETED, outcome == CALL_BUSY, outcome == CALL_NO_ANSWER],
            [rng.integers(5, 20, m), rng.integers(2, 6, m), rng.integers(30, 46, m)],
            rng.integers(1, 6, m),
        )
        talk = np.where(outcome == CALL_COMPLETED,
                        np.clip(rng.lognormal(np.log(55), 0.7, m), 5, 600).astype(np.int64), 0)
        end = start + ring + talk
        columns["contact"].append(active)
        columns["attempt"].append(np.full(m, attempt + 1, dtype=np.int8))
        columns["outcome"].append(outcome)
        columns["start"].append(start)
        columns["end"].append(end)
        columns["duration"].append(talk.astype(np.int32))
        columns["price"].append(((talk + 59) // 60).astype(np.int16))  # 60-second pulses
        attempts_planned[active] += 1
        retry = np.isin(outcome, list(retry_on))
        if attempt < plan.number_of_retries:
            active = active[retry]
            start = end[retry] + retry_offsets[attempt]

    contact = np.concatenate(columns["contact"])
    start_all = np.concatenate(columns["start"])
    order = np.lexsort((contact, start_all))
    contact = contact[order]
    malformed, extra = _faults(config, plan, contact.size)
    return CallDetails(
        plan=plan, contact=contact, recipient=numbers[contact],
        attempt_number=np.concatenate(columns["attempt"])[order],
        outcome=np.concatenate(columns["outcome"])[order], start_at=start_all[order],
        end_at=np.concatenate(columns["end"])[order],
        duration=np.concatenate(columns["duration"])[order],
        price=np.concatenate(columns["price"])[order], attempts_planned=attempts_planned,
        malformed=malformed, extra_key=extra,
    )


def _faults(config: AccountConfig, plan: CampaignPlan, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Which records are served malformed or with unknown extra keys (their own RNG stream)."""
    rng = np.random.default_rng([config.seed, 3, 0 if plan.channel == "voice" else 1, plan.index])
    malformed = np.zeros(n, dtype=np.int8)
    if config.malformed_share > 0:
        hit = rng.random(n) < config.malformed_share
        malformed[hit] = rng.integers(1, len(MALFORMED_KINDS) + 1, int(hit.sum()))
    extra = rng.random(n) < config.extra_keys_share if config.extra_keys_share > 0 else (
        np.zeros(n, dtype=bool))
    return malformed, extra
