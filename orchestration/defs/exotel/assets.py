"""Raw ingest assets: every voice call attempt and SMS message, validated, into `raw`.

Why these assets are not partitioned: a run's unit of work is "campaigns never pulled, plus
campaigns not yet final", a set that depends on the data and crosses any fixed partition. Daily
partitions by start date would re-pull whole days to catch one late receipt, and could not reach
a long-running campaign that started weeks ago; per-campaign dynamic partitions would add a
partition per campaign (thousands a month) and need a sensor to register them and a run per
partition set, for what one run does in a loop. The campaign is already the unit of
atomicity (one transaction each) and of bookkeeping (`raw.campaign_pulls`, one row per pull
that landed), which is what partitions would have given us. A backfill is run config on the
same assets: chosen campaign ids, or a range of campaign start dates, re-pulled in one run.
"""


import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration.defs.callbacks.assets import CALLBACKS_KEY
from orchestration.defs.exotel.economy import pending_lookup, read_previous_pulls
from orchestration.defs.exotel.pull import (
    CHANNELS,
    CampaignFailure,
    CampaignPull,
    Channel,
    pull_campaigns,
    quarantine_invalid_ids,
    to_campaign_ref,
)
from orchestration.defs.exotel.resources import ExotelApi
from orchestration.defs.exotel.selection import Backfill, campaigns_to_pull
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.exotel import CampaignNotFoundError, ExotelClient, ExotelError
from orchestration.lib.ids import is_valid_id
from orchestration.lib.phone import mask_numbers
from orchestration.lib.progress import PullProgress
from orchestration.lib.pull_ledger import read_ledger
from orchestration.lib.rules import (
    REJECTED_FAIL_SHARE,
    REJECTED_WARN_SHARE,
    UNRECONCILED_PULL_ATTEMPTS,
)


class IngestConfig(dg.Config):
    """What a run pulls. Empty: campaigns never pulled before and those not yet final."""

    campaign_ids: list[str] = Field(
        default_factory=list, description="Backfill: re-pull exactly these campaigns."
    )
    start_date_from: str | None = Field(
        default=None, description="Backfill: campaigns that started on or after this date "
        "(YYYY-MM-DD, account time zone)."
    )
    start_date_to: str | None = Field(
        default=None, description="Backfill: campaigns that started on or before this date."
    )
    batch_pages: int = Field(
        default=50, ge=1, description="Pages validated and inserted together (memory bound)."
    )
    rejected_warn_share: float = Field(default=REJECTED_WARN_SHARE, ge=0, le=1)
    rejected_fail_share: float = Field(default=REJECTED_FAIL_SHARE, ge=0, le=1)

    def backfill(self) -> Backfill:
        def day(text: str | None, name: str) -> dt.date | None:
            if text is None:
                return None
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise dg.Failure(f"{name} must be a date as YYYY-MM-DD, got {text!r}") from None

        return Backfill(
            campaign_ids=frozenset(self.campaign_ids),
            start_from=day(self.start_date_from, "start_date_from"),
            start_to=day(self.start_date_to, "start_date_to"),
        )


def _tracked(outcomes: Iterator[CampaignPull | CampaignFailure], progress: PullProgress,
             client: ExotelClient) -> Iterator[CampaignPull | CampaignFailure]:
    """The outcomes as they come, the progress bar moved on after each."""
    with progress:
        for outcome in outcomes:
            yield outcome
            progress.campaign(client.requests_so_far)


def _keys(channel: Channel) -> tuple[dg.AssetKey, dg.AssetKey]:
    return (dg.AssetKey(channel.campaign_entity.table.split(".")),
            dg.AssetKey(channel.detail_entity.table.split(".")))


def ingest(
    context: dg.AssetExecutionContext,
    channel: Channel,
    config: IngestConfig,
    exotel: ExotelApi,
    warehouse: Warehouse,
) -> Iterator[dg.MaterializeResult]:
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC)
    settings = exotel.settings
    campaign_key, detail_key = _keys(channel)
    pulls: list[CampaignPull] = []
    not_found: list[str] = []
    failed: list[str] = []
    backfill = config.backfill()

    if not settings.exotel_configured:
        # Which providers run follows from which credentials are set.
        context.log.info("no EXOTEL_* credentials: Exotel %s not read", channel.name)
        for key, check in ((campaign_key, "stats_reconciliation"), (detail_key, "rejected_share")):
            yield dg.MaterializeResult(
                asset_key=key, metadata={"requests": 0, "configured": False},
                check_results=[dg.AssetCheckResult(
                    asset_key=key, check_name=check, passed=True,
                    metadata={"configured": False}, description="Exotel is not configured: "
                    "nothing was read to check.")])
        return
    with exotel.open_client() as client, warehouse.connect() as con, \
            tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        raw = warehouse.raw_writer(con)
        records = list(channel.list_campaigns(client))
        for reason in quarantine_invalid_ids(raw, channel, records, run_id=context.run.run_id):
            context.log.warning("a listed %s campaign was not pulled: %s", channel.name, reason)
        listed = [to_campaign_ref(channel.name, r) for r in records
                  if is_valid_id(r.get("id"))]
        ledger = read_ledger(con, channel.name)
        chosen = campaigns_to_pull(listed, ledger, backfill=backfill,
                                   timezone=settings.account_timezone)
        unmatched = sorted(backfill.campaign_ids - {ref.campaign_id for ref in listed})
        context.log.info(
            "%s: %d campaigns listed, %d to pull (%s)", channel.name, len(listed), len(chosen),
            "backfill" if backfill.is_requested else "new or not yet final",
        )
        numbers = {ref.campaign_id: n for n, ref in enumerate(chosen, start=1)}
        # A backfill reads every page: it is asked for when the held data is in doubt.
        previous = {} if backfill.is_requested else read_previous_pulls(con, channel.name)
        lookup_con = con.cursor()  # the fetching thread's own connection
        progress = PullProgress(channel.name, len(chosen),
                                rate_per_minute=settings.rate_limit_per_minute)
        outcomes = pull_campaigns(
            client, raw, channel, [ref.campaign_id for ref in chosen],
            run_id=context.run.run_id, dlr_finalization_hours=settings.dlr_finalization_hours,
            batch_pages=config.batch_pages, workdir=Path(tmp), log=context.log,
            previous=previous, pending=pending_lookup(lookup_con),
            on_page=lambda records: progress.page(records, client.requests_so_far),
            fetch_workers=settings.exotel_fetch_workers,
        )
        for outcome in _tracked(outcomes, progress, client):
            if isinstance(outcome, CampaignFailure):
                if isinstance(outcome.error, CampaignNotFoundError):
                    context.log.warning("%s; the other campaigns go on", outcome.error)
                    not_found.append(outcome.campaign_id)
                else:
                    # Nothing of this campaign was kept (its transaction rolled back); the
                    # others go on and are published; the next run pulls it again, and an alert
                    # tells when it keeps failing (defs/alerts/pipeline.py).
                    context.log.error("%s %s was not loaded, skipped until the next run: %s",
                                      channel.name, outcome.campaign_id, outcome.error)
                    failed.append(outcome.campaign_id)
                    raw.insert("campaign_pull_failures", "VALUES (?, ?, ?, ?, ?)",
                               [channel.name, outcome.campaign_id, context.run.run_id,
                                mask_numbers(str(outcome.error))[:500],
                                dt.datetime.now(dt.UTC)])
                    raw.commit(f"exotel {channel.name} campaign {outcome.campaign_id} failed")
                continue
            pull = outcome
            pulls.append(pull)
            how = (f"in {pull.pages} pages" if pull.detail_mode == "pages"
                   else f"details {pull.detail_mode}: {pull.detail_reason}")
            context.log.info(
                "%s campaign %d/%d: %s, %s records (%s rejected) %s, %d requests, %.1fs%s",
                channel.name, numbers[pull.campaign_id], len(chosen), pull.campaign_id,
                f"{pull.records:,}", f"{pull.details.rejected if pull.details else 0:,}",
                how, pull.requests, pull.seconds, ", final" if pull.is_final else "",
            )
        lookup_con.close()

        loaded = sum(p.details.loaded for p in pulls if p.details)
        rejected = sum(p.details.rejected for p in pulls if p.details)
        kinds = client.stats.by_kind
        raw.insert_row("ingest_runs", {
            "provider": "exotel", "channel": channel.name, "run_id": context.run.run_id,
            "started_at": started_at, "finished_at": dt.datetime.now(dt.UTC),
            "campaigns_listed": len(listed), "campaigns_pulled": len(pulls),
            "campaigns_not_found": len(not_found), "records": loaded + rejected,
            "rejected": rejected, "requests": client.stats.requests,
            "list_requests": kinds["list"], "campaign_requests": kinds["campaign"],
            "detail_requests": kinds["detail"], "message_requests": kinds["message"],
            "retries": client.stats.retries,
            "campaigns_skipped": sum(p.detail_mode == "skipped" for p in pulls),
            "messages_polled": sum(p.messages_polled for p in pulls),
            "campaigns_failed": len(failed)})
        raw.commit(f"exotel {channel.name} run")
        given_up = sorted(cid for cid, state in read_ledger(con, channel.name).items()
                          if state.given_up)

    if failed:
        context.log.error(
            "%d %s campaign(s) could not be loaded and were left out whole: %s. The others "
            "landed and are published; the next run tries these again.", len(failed),
            channel.name, ", ".join(failed))

    seconds = time.monotonic() - started
    pages = sum(p.pages for p in pulls)
    total = loaded + rejected
    share = rejected / total if total else 0.0
    retrying = [p.campaign_id for p in pulls if p.window_closed and not p.is_reconciled]
    if retrying:
        context.log.warning(
            "%s: %d campaign(s) ended but their details do not reconcile with their stats "
            "(a page may have come back short): %s. They are pulled again on the next run.",
            channel.name, len(retrying), ", ".join(retrying))
    if given_up:
        context.log.error(
            "%s: %d campaign(s) still did not reconcile after %d pulls and are no longer pulled: "
            "%s. Their figures may be incomplete; re-pull with `campaign-analytics backfill "
            "--campaign ID` once the provider's data is fixed.",
            channel.name, len(given_up), UNRECONCILED_PULL_ATTEMPTS, ", ".join(given_up))
    yield dg.MaterializeResult(
        asset_key=campaign_key,
        metadata={
            "campaigns_listed": len(listed),
            "campaigns_pulled": len(pulls),
            "campaigns_final": sum(p.is_final for p in pulls),
            "campaigns_not_found": dg.MetadataValue.json(not_found),
            "campaigns_failed": dg.MetadataValue.json(failed),
            "campaign_ids_not_listed": dg.MetadataValue.json(unmatched),
            "campaigns_rejected": sum(p.campaign_rejected for p in pulls),
            "campaigns_details_skipped": sum(p.detail_mode == "skipped" for p in pulls),
            "campaigns_messages_polled": sum(p.detail_mode == "messages" for p in pulls),
            "requests": client.stats.requests,
            "requests_by_kind": dg.MetadataValue.json(dict(client.stats.by_kind)),
        },
        check_results=[
            dg.AssetCheckResult(
                asset_key=campaign_key,
                check_name="stats_reconciliation",
                passed=not retrying and not given_up,
                severity=dg.AssetCheckSeverity.ERROR if given_up else dg.AssetCheckSeverity.WARN,
                description="Per ended campaign, detail counts equal the campaign's reported "
                "stats (a mismatch usually means paging ended early). Warns while a campaign is "
                f"pulled again; fails once one has not reconciled after "
                f"{UNRECONCILED_PULL_ATTEMPTS} pulls.",
                metadata={
                    "unreconciled_campaigns": dg.MetadataValue.json(retrying),
                    "given_up_campaigns": dg.MetadataValue.json(given_up),
                    "checked_campaigns": len(pulls),
                    "differences": dg.MetadataValue.json({
                        p.campaign_id: {"reported": p.reported_total, "details": p.detail_total}
                        for p in pulls if not p.is_reconciled
                    }),
                },
            )
        ],
    )
    severity = (dg.AssetCheckSeverity.ERROR if share > config.rejected_fail_share
                else dg.AssetCheckSeverity.WARN)
    yield dg.MaterializeResult(
        asset_key=detail_key,
        metadata={
            "pages": pages,
            "records": total,
            "loaded": loaded,
            "rejected": rejected,
            "seconds": round(seconds, 2),
            "records_per_second": round(total / seconds) if seconds else 0,
        },
        check_results=[
            dg.AssetCheckResult(
                asset_key=detail_key,
                check_name="rejected_share",
                passed=share <= config.rejected_warn_share,
                severity=severity,
                description=f"Share of this run's {channel.detail_entity.name} records that "
                f"failed their contract (warn above {config.rejected_warn_share:.2%}, "
                f"fail above {config.rejected_fail_share:.2%}).",
                metadata={"rejected": rejected, "records": total, "share": round(share, 6)},
            )
        ],
    )


def _ingest_asset(channel: Channel) -> dg.AssetsDefinition:
    campaign_key, detail_key = _keys(channel)
    noun = "call attempts (CDRs)" if channel.name == "voice" else "SMS messages"

    @dg.multi_asset(
        name=f"{channel.name}_ingest",
        specs=[
            # After the callbacks load: a message a callback reported at its outcome is not
            # asked for again (economy.py).
            dg.AssetSpec(campaign_key, group_name="raw", kinds={"duckdb", "python"},
                         deps=[CALLBACKS_KEY],
                         description=f"Every pull of every {channel.name} campaign record, with "
                         "its reported stats (append-only)."),
            dg.AssetSpec(detail_key, group_name="raw", kinds={"duckdb", "python"},
                         description=f"Every pull of every {noun}: typed contract fields, the "
                         "record as sent, run id and load time (append-only)."),
        ],
        check_specs=[
            dg.AssetCheckSpec("stats_reconciliation", asset=campaign_key),
            dg.AssetCheckSpec("rejected_share", asset=detail_key),
        ],
        pool=WRITER_POOL,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        exotel: dg.ResourceParam[ExotelApi],
        warehouse: dg.ResourceParam[Warehouse],
    ) -> Iterator[dg.MaterializeResult]:
        try:
            yield from ingest(context, channel, config, exotel, warehouse)
        except ExotelError as error:
            raise dg.Failure(str(error)) from error

    return _asset


voice_ingest = _ingest_asset(CHANNELS["voice"])
sms_ingest = _ingest_asset(CHANNELS["sms"])
