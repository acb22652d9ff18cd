"""Pull campaigns into the raw lake, each one whole or not at all.

Per campaign, the campaign record (with its `stats`), every detail page, the quarantined records
and the ledger row in `raw.campaign_pulls` are staged in one DuckDB transaction and land in the
lake as one commit (defs/warehouse/raw_writer.py). A run that dies half way through a campaign
leaves nothing of it behind, and since the ledger has no row for it, the next run pulls it again
from the start: no duplicate, nothing lost.

Fetching runs in a thread one feed ahead of loading, across campaign boundaries: while one
campaign's last batch is validated and committed, the next campaign's pages are already on their
way (profiled: with a feed per campaign, the loader sat idle for a third of a run at every
campaign's start and the fetcher at every commit).

Requests are the run's real cost (the provider allows 200 a minute), so a campaign pulled
before reads only what can have changed (`economy.plan_details`): nothing when its stats equal
those of its last reconciled pull, its few pending messages one by one when that takes fewer
requests than its pages, every page otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from orchestration.defs.exotel.economy import (
    DetailPlan,
    PendingLookup,
    PreviousPull,
    message_as_detail,
    plan_details,
    settled_by_stats,
)
from orchestration.defs.exotel.entities import (
    CALL_ATTEMPT,
    SMS_CAMPAIGN,
    SMS_MESSAGE,
    VOICE_CAMPAIGN,
    Entity,
)
from orchestration.defs.exotel.loader import BatchLoader, BatchResult, check_records
from orchestration.defs.exotel.selection import CampaignRef, parse_time, receipt_window_closed
from orchestration.defs.warehouse.raw_writer import RawWriter
from orchestration.lib.exotel import (
    ApiError,
    CampaignNotFoundError,
    ExotelClient,
    MalformedResponseError,
    MessageNotFoundError,
    Page,
    TransientApiError,
)
from orchestration.lib.ids import ID_RULE, is_valid_id
from orchestration.lib.phone import mask_numbers
from orchestration.lib.prefetch import prefetch_in_order
from orchestration.lib.rules import SMS_PENDING_STATUSES


@dataclass(frozen=True)
class Channel:
    name: str  # "voice" or "sms"
    campaign_entity: Entity
    detail_entity: Entity
    total_stat: str  # the stats field the detail count reconciles with
    list_campaigns: Callable[[ExotelClient], Iterator[dict[str, Any]]]
    get_campaign: Callable[[ExotelClient, str], dict[str, Any]]
    detail_pages: Callable[[ExotelClient, str], Iterator[Page]]

    @property
    def unit_column(self) -> str:
        """What the campaign's stats count: messages, or (voice) contacts."""
        return "to_number" if self.name == "voice" else "sms_sid"


VOICE = Channel(
    "voice", VOICE_CAMPAIGN, CALL_ATTEMPT, "created",
    lambda c: c.iter_voice_campaigns(), lambda c, i: c.get_voice_campaign(i),
    lambda c, i: c.iter_call_detail_pages(i),
)
SMS = Channel(
    "sms", SMS_CAMPAIGN, SMS_MESSAGE, "total",
    lambda c: c.iter_sms_campaigns(), lambda c, i: c.get_sms_campaign(i),
    lambda c, i: c.iter_sms_detail_pages(i),
)
CHANNELS = {"voice": VOICE, "sms": SMS}


@dataclass
class CampaignPull:
    channel: str
    campaign_id: str
    status: str
    pages: int = 0
    details: BatchResult | None = None
    campaign_rejected: bool = False
    # Terminal and ended DLR_FINALIZATION_HOURS ago: no receipt can come any more.
    window_closed: bool = False
    # ... and the details reconcile with the stats: nothing can change, nothing is missing.
    is_final: bool = False
    reported_total: int | None = None
    detail_total: int = 0
    seconds: float = 0.0
    # How the details were read: "pages" (all of them), "messages" (the pending ones, one by
    # one) or "skipped" (nothing can have changed), and why.
    detail_mode: str = "pages"
    detail_reason: str = ""
    messages_polled: int = 0
    # Units (SMS messages) still waiting on their outcome after this pull; None for voice.
    pending_units: int | None = None
    requests: int = 0

    @property
    def is_reconciled(self) -> bool:
        return self.reported_total is not None and self.reported_total == self.detail_total

    @property
    def records(self) -> int:
        return 0 if self.details is None else self.details.loaded + self.details.rejected


def to_campaign_ref(channel: str, record: dict[str, Any]) -> CampaignRef:
    return CampaignRef(
        channel=channel,
        campaign_id=str(record.get("id")),
        status=str(record.get("status")),
        created_at=parse_time(record.get("created_at")),
        start_time=parse_time(record.get("start_time")),
        end_time=parse_time(record.get("end_time")),
    )


def quarantine_invalid_ids(raw: RawWriter, channel: Channel,
                           records: list[dict[str, Any]], *, run_id: str) -> list[str]:
    """Listed campaigns whose id is not a plain token are never requested (an id could turn a
    request or a report file into a path): each is quarantined, once, with the reason, which
    is also returned."""
    reasons = []
    for record in records:
        campaign_id = record.get("id")
        if is_valid_id(campaign_id):
            continue
        reason = mask_numbers(f"id {campaign_id!r} is not a valid campaign id ({ID_RULE})")
        reasons.append(reason)
        quarantine_once(raw, channel.campaign_entity.name, str(campaign_id), reason, record,
                        run_id=run_id, loaded_at=dt.datetime.now(dt.UTC))
    if reasons:
        raw.commit(f"exotel {channel.name}: listed campaigns with invalid ids")
    return reasons


def quarantine_once(raw: RawWriter, entity: str, campaign_id: str, reason: str,
                    record: dict[str, Any], *, run_id: str, loaded_at: dt.datetime) -> None:
    """A campaign record in `raw.rejected_records`, unless the very same record is there
    already: a bad campaign is looked at again every run (the provider may fix it), but a
    record that has not changed is recorded once. Staged: the caller commits."""
    stage = raw.table("rejected_records")
    raw.con.execute(
        f"""
        INSERT INTO {stage}
        SELECT $entity, $campaign, $campaign, $reason, $record::JSON, $run, $loaded
        WHERE NOT EXISTS (
            SELECT 1 FROM (SELECT entity, campaign_id, record_json FROM raw.rejected_records
                           UNION ALL SELECT entity, campaign_id, record_json FROM {stage})
            WHERE entity = $entity AND campaign_id = $campaign AND record_json = $record::JSON)
        """,
        {"entity": entity, "campaign": campaign_id, "reason": reason,
         "record": orjson.dumps(record).decode(), "run": run_id, "loaded": loaded_at},
    )


def _page_lines(page: Page) -> bytes:
    # Runs in the fetching thread: re-serialising each record is ~0.8 us, far cheaper than
    # building columns in Python, and hands DuckDB one record per line.
    return b"\n".join(map(orjson.dumps, page.records))


@dataclass(frozen=True)
class CampaignFailure:
    """A campaign that could not be pulled; nothing of it was kept."""

    campaign_id: str
    error: CampaignNotFoundError | MalformedResponseError | ApiError | TransientApiError


# Campaigns whose requests fail past their retries one after another: the provider is down,
# not one campaign broken, and the run stops rather than wait out every campaign's retries.
MAX_TRANSIENT_IN_A_ROW = 3


# What the fetching thread hands the loader, in order: per campaign, its record, then each
# detail page as NDJSON bytes, then the provider's clock when its last page was read; or, when
# the API fails for that campaign alone, a CampaignFailure in place of whatever was left.
@dataclass(frozen=True)
class _Started:
    campaign_id: str
    record: dict[str, Any]
    rejected: str | None = None  # the campaign record's failed checks: its details are not fetched
    plan: DetailPlan = DetailPlan("pages")


@dataclass(frozen=True)
class _Finished:
    server_time: dt.datetime | None
    requests: int = 0
    # For a re-poll: how many of the polled messages still wait on their outcome.
    still_pending: int | None = None


_FeedItem = _Started | bytes | _Finished | CampaignFailure


def _poll_messages(client: ExotelClient, plan: DetailPlan) -> tuple[list[bytes], int] | None:
    """The pending messages, each asked for on its own, as detail records (the version the
    provider holds now); None when one of them is unknown (then the pages are read)."""
    lines, still_pending = [], 0
    for known in plan.pending:
        try:
            answer = client.get_sms_message(known.sms_sid)
        except MessageNotFoundError:
            return None
        record = message_as_detail(answer, known)
        still_pending += record.get("status") in SMS_PENDING_STATUSES
        lines.append(orjson.dumps(record))
    return lines, still_pending


def _campaign_feed(client: ExotelClient, channel: Channel, campaign_id: str, workdir: Path,
                   previous: dict[str, PreviousPull], pending: PendingLookup
                   ) -> Iterator[_FeedItem]:
    """One campaign's items, read by `client` (in a fetching thread of its own)."""
    # The campaign record is checked here, before its details are fetched: a campaign whose own
    # record breaks its contract has its details left at the provider (they could not be tied
    # to trustworthy campaign facts), not fetched page by page and thrown away.
    entity = channel.campaign_entity
    requests_before = client.stats.requests
    try:
        record = channel.get_campaign(client, campaign_id)
        with duckdb.connect() as checker:
            checker.execute("SET TimeZone = 'UTC'")  # typed as the loader types them
            reasons = check_records(checker, entity, [orjson.dumps(record)],
                                    workdir / f"{entity.name}.{campaign_id}.check.ndjson")
        rejected = str(reasons["failed_checks"].iloc[0]) if len(reasons) else None
        plan = DetailPlan("pages")
        if rejected is None:
            plan = plan_details(channel.name, record, previous.get(campaign_id),
                                pending, page_size=client.detail_page_limit)
        polled = _poll_messages(client, plan) if plan.mode == "messages" else None
        if plan.mode == "messages" and polled is None:
            plan = DetailPlan("pages", "a pending message was not found on its own")
        yield _Started(campaign_id, record, rejected, plan)
        still_pending = None
        if rejected is None and plan.mode == "pages":
            for page in channel.detail_pages(client, campaign_id):
                yield _page_lines(page)
        elif polled is not None:
            lines, still_pending = polled
            yield b"\n".join(lines)
        yield _Finished(client.server_time, client.stats.requests - requests_before,
                        still_pending)
    except (CampaignNotFoundError, MalformedResponseError, ApiError, TransientApiError) as error:
        # This campaign alone: the others go on. Anything else (bad credentials) stops the run.
        yield CampaignFailure(campaign_id, error)


def _feed(client: ExotelClient, channel: Channel, campaign_ids: Iterable[str], workdir: Path,
          previous: dict[str, PreviousPull], pending: PendingLookup, *, workers: int,
          depth: int) -> Iterator[_FeedItem]:
    """Every campaign's items, campaign after campaign, `workers` of them fetched side by side
    by sibling clients (one rate limit shared) whose requests are added to `client`'s."""
    spare: queue.Queue[ExotelClient] = queue.Queue()
    siblings = [client] if workers <= 1 else [client.sibling() for _ in range(workers)]
    for sibling in siblings:
        spare.put(sibling)

    def source(campaign_id: str) -> Callable[[], Iterator[_FeedItem]]:
        def items() -> Iterator[_FeedItem]:
            reader = spare.get()
            try:
                yield from _campaign_feed(reader, channel, campaign_id, workdir, previous,
                                          pending)
            finally:
                spare.put(reader)
        return items

    transient_in_a_row = 0
    try:
        for item in prefetch_in_order((source(c) for c in campaign_ids), workers=workers,
                                      depth=depth):
            if isinstance(item, CampaignFailure):
                # Several transient failures in a row mean the provider is down: the run stops,
                # as it would at once.
                transient = isinstance(item.error, TransientApiError)
                transient_in_a_row = transient_in_a_row + 1 if transient else 0
                if transient_in_a_row >= MAX_TRANSIENT_IN_A_ROW:
                    raise item.error
            elif isinstance(item, _Finished):
                transient_in_a_row = 0
            yield item
    finally:
        if workers > 1:
            for sibling in siblings:
                client.absorb(sibling)


class _CampaignWriter:
    """One campaign's transaction: its record, its detail batches, its ledger row."""

    def __init__(self, raw: RawWriter, channel: Channel, started: _Started, *,
                 run_id: str, batch_pages: int, workdir: Path, log: logging.Logger) -> None:
        self.began = time.monotonic()
        con = raw.con
        self.raw, self.con, self.channel, self.record = raw, con, channel, started.record
        self.batch_pages, self.log = batch_pages, log
        self.run_id = run_id
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.pull = CampaignPull(channel.name, started.campaign_id,
                                 str(self.record.get("status")),
                                 detail_mode=started.plan.mode,
                                 detail_reason=started.plan.reason)
        self.plan = started.plan
        self.batch: list[bytes] = []
        options = {"campaign_id": started.campaign_id, "run_id": run_id,
                   "loaded_at": self.loaded_at, "workdir": workdir}
        con.begin()
        try:
            if started.rejected is not None:
                self.pull.campaign_rejected = True
                quarantine_once(raw, channel.campaign_entity.name, started.campaign_id,
                                f"{started.rejected}; its details were not loaded", self.record,
                                run_id=run_id, loaded_at=self.loaded_at)
            else:
                BatchLoader(raw, channel.campaign_entity, **options).load(
                    [orjson.dumps(self.record)], checked=True)
                self.pull.details = BatchResult()
                self.details = BatchLoader(
                    raw, channel.detail_entity, unit_column=channel.unit_column,
                    pending_statuses=SMS_PENDING_STATUSES if channel.name == "sms" else (),
                    **options)
        except BaseException:
            con.rollback()
            raw.discard()
            raise

    def rollback(self) -> None:
        self.con.rollback()
        self.raw.discard()

    def add_page(self, lines: bytes) -> None:
        if self.pull.detail_mode == "messages":
            self.pull.messages_polled += lines.count(b"\n") + 1 if lines else 0
        else:
            self.pull.pages += 1
        if lines:
            self.batch.append(lines)
        if len(self.batch) >= self.batch_pages:
            self._flush()
            self.log.info("%s %s: %s records so far (%d pages)", self.channel.name,
                          self.pull.campaign_id, f"{self.pull.records:,}", self.pull.pages)

    def _flush(self) -> None:
        self.pull.details += self.details.load(self.batch)
        self.batch = []

    def finish(self, finished: _Finished, dlr_finalization_hours: int) -> CampaignPull:
        pull, record, plan = self.pull, self.record, self.plan
        server_time = finished.server_time
        pull.requests = finished.requests
        pulled_at = server_time or dt.datetime.now(dt.UTC)
        end_time = parse_time(record.get("end_time"))
        if not pull.campaign_rejected:
            self._flush()
            pull.window_closed = receipt_window_closed(pull.status, end_time, pulled_at,
                                                       dlr_finalization_hours)
            stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
            reported = stats.get(self.channel.total_stat)
            pull.reported_total = reported if isinstance(reported, int) else None
            if pull.detail_mode == "pages":
                pull.detail_total = self.details.distinct_units()
                if self.channel.name == "sms":
                    pull.pending_units = self.details.pending_units()
            else:  # the details held are those of the previous pull, updated
                pull.detail_total = plan.previous_total
                pull.pending_units = (finished.still_pending
                                      if finished.still_pending is not None
                                      else plan.pending_after)
            # A short or empty page mid-stream ends paging early and looks like the last page;
            # only the stats can tell. So a campaign is final only when its details reconcile:
            # once its receipt window has closed, or sooner when its stats and details both say
            # nothing is pending (economy.settled_by_stats).
            settled = settled_by_stats(self.channel.name, pull.status, stats,
                                       pull.pending_units)
            pull.is_final = (pull.window_closed or settled) and pull.is_reconciled
        pull.seconds = time.monotonic() - self.began
        stats = record.get("stats")
        self.raw.insert_row("campaign_pulls", {
            "channel": self.channel.name, "campaign_id": pull.campaign_id,
            "run_id": self.run_id, "campaign_status": pull.status, "campaign_end_time": end_time,
            "pulled_at": pulled_at, "is_final": pull.is_final, "pages": pull.pages,
            "records": pull.records,
            "rejected": pull.details.rejected if pull.details else 0,
            "detail_total": pull.detail_total, "reported_total": pull.reported_total,
            "is_reconciled": pull.is_reconciled, "seconds": pull.seconds,
            "loaded_at": self.loaded_at, "window_closed": pull.window_closed,
            "campaign_rejected": pull.campaign_rejected, "detail_mode": pull.detail_mode,
            "detail_reason": pull.detail_reason or None,
            "messages_polled": pull.messages_polled, "pending_units": pull.pending_units,
            "requests": pull.requests,
            "stats": orjson.dumps(stats).decode() if isinstance(stats, dict) else None})
        self.con.commit()
        self.raw.commit(f"exotel {self.channel.name} campaign {pull.campaign_id}")
        return pull


def pull_campaigns(
    client: ExotelClient,
    raw: RawWriter,
    channel: Channel,
    campaign_ids: Iterable[str],
    *,
    run_id: str,
    dlr_finalization_hours: int,
    batch_pages: int,
    workdir: Path,
    log: logging.Logger,
    previous: dict[str, PreviousPull] | None = None,
    pending: PendingLookup | None = None,
    on_page: Callable[[int], None] | None = None,
    fetch_workers: int = 1,
) -> Iterator[CampaignPull | CampaignFailure]:
    """Pull each campaign in its own transaction and lake commit; yield each one's outcome as it
    lands.

    A campaign the API fails for alone (404, a broken page, a refused request) is rolled back
    and yielded as a CampaignFailure; any other error rolls back the campaign in progress and
    is raised.
    """
    writer: _CampaignWriter | None = None
    options = {"run_id": run_id, "batch_pages": batch_pages, "workdir": workdir, "log": log}
    try:
        feed = _feed(client, channel, campaign_ids, workdir, previous or {},
                     pending or (lambda campaign_id, created_at, limit: []),
                     workers=fetch_workers, depth=2 * batch_pages)
        for item in feed:
            if isinstance(item, bytes):
                writer.add_page(item)  # type: ignore[union-attr] - a page follows its start
                if on_page is not None:
                    on_page(item.count(b"\n") + 1 if item else 0)
            elif isinstance(item, _Started):
                writer = _CampaignWriter(raw, channel, item, **options)
            elif isinstance(item, _Finished):
                pull = writer.finish(item, dlr_finalization_hours)  # type: ignore[union-attr]
                writer = None
                yield pull
            else:
                if writer is not None:  # the API failed part way through this campaign
                    writer.rollback()
                    writer = None
                yield item
    except BaseException:
        if writer is not None:
            writer.rollback()
        raise
