"""`campaign-analytics`: the command line for people who don't open Dagster.

Subcommands:
  demo      sandbox API -> full run -> published copy -> campaign KPI summary
  sync      the daily run, now, against the configured account
  backfill  re-pull chosen campaigns, or campaigns started within a date range
  sandbox   serve the bundled synthetic API on 127.0.0.1 (no credentials needed)
  dev       the Dagster UI on the bundled sandbox
  docs      dbt's documentation of the models, with this warehouse's settings
  status    last run, freshness, row counts, rejected records, unreconciled campaigns
  query     SQL against the published copy
  export    failed recipients of a campaign, as CSV or XLSX
  report    offline HTML reports with charts: one campaign, or the account overview
  receive   the status-callback receiver (the provider pushes statuses to it)
  refresh   load received callbacks, rebuild the campaigns they touched, republish
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import dagster as dg
import duckdb

from orchestration.arguments import (
    add_sandbox_arguments,
    parse_date,
    parse_instant,
    parse_port,
    sandbox_from_args,
)
from orchestration.demo import DEMO_DIR, run_demo
from orchestration.dev import run_dev
from orchestration.docs import generate_docs, serve_docs
from orchestration.lib.alerts.engine import MAX_NOTIFICATION_RUNS
from orchestration.lib.callbacks.landing import has_unpublished, waiting_segments
from orchestration.lib.callbacks.payloads import ENDPOINTS
from orchestration.lib.callbacks.receiver import bind, create_app, serve
from orchestration.lib.cells import counted
from orchestration.lib.exports import export_rows, format_for, write_export
from orchestration.lib.ids import check_id
from orchestration.lib.published import ReadError, run_query
from orchestration.lib.published_state import (
    ALERT_COLUMNS,
    DEAD_COLUMNS,
    read_alerts,
    read_dead_notifications,
    read_status,
)
from orchestration.lib.reports import write_campaign_report, write_overview
from orchestration.lib.rules import FRESHNESS_MAX_AGE_HOURS
from orchestration.lib.run_lock import holder_if_busy
from orchestration.lib.settings import (
    BREVO_REQUESTS_PER_HOUR,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    PROVIDER_NAMES,
    ConfigError,
    load_settings,
)
from orchestration.lib.text_tables import format_rows, format_table
from orchestration.runner import PipelineError, WarehouseBusy, exclusive_run, preflight
from orchestration.runs import run_daily, run_refresh

log = logging.getLogger("campaign_analytics")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args)
    return EXIT_OK


def cmd_dev(args: argparse.Namespace) -> int:
    try:
        server = sandbox_from_args(args, port=args.sandbox_port)
    except OSError as error:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.sandbox_port} ({error.strerror}): "
                          "choose another --sandbox-port") from None
    return run_dev(server, ui_port=args.port, home=Path(".dagster_home"), data=Path("data/dev"))


def cmd_docs(args: argparse.Namespace) -> int:
    settings = load_settings(require_credentials=False)
    print(f"Generating dbt's documentation of {settings.warehouse_path} ...", flush=True)
    page = generate_docs(settings)
    print(f"Wrote {page} (one page, opens from disk: models, columns, tests and lineage)")
    if args.serve:
        print(f"Serving it on http://127.0.0.1:{args.port} (Ctrl-C to stop) ...", flush=True)
        try:
            serve_docs(args.port)
        except OSError as error:
            raise ConfigError(f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): "
                              "choose another --port") from None
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    try:
        server = sandbox_from_args(args, port=args.port)
    except OSError as error:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): "
                          "choose another --port") from None
    print(f"Sandbox API listening on {server.url} (Ctrl-C to stop). Point the pipeline at it:")
    for name, value in server.environment().items():
        print(f"  {name}={value}")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    run_daily(load_settings(), None, verbose=args.verbose)
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    settings = load_settings()
    # The warehouse is checked (and held) before the API is asked which ids exist.
    with exclusive_run(settings):
        if args.campaign:
            listed = preflight(settings).ids
            unknown = sorted(set(args.campaign) - listed)
            if unknown:
                raise ConfigError(f"unknown campaign(s): {', '.join(unknown)} (not in the "
                                  "account's campaign lists)")
            config = {"campaign_ids": list(args.campaign)}
        else:
            if args.end < args.start:
                raise ConfigError("--to must not be before --from")
            config = {"start_date_from": args.start.date().isoformat(),
                      "start_date_to": args.end.date().isoformat()}
        run_daily(settings, config, verbose=args.verbose)
    return EXIT_OK


def cmd_receive(args: argparse.Namespace) -> int:
    settings = load_settings(require_credentials=False)
    app = create_app(settings.callback_landing_dir, settings.callback_token)
    sock = bind(args.host, args.port)
    where = f"http://{args.host}:{sock.getsockname()[1]}"
    print(f"Receiving status callbacks on {where}, stored in {settings.callback_landing_dir} "
          "(Ctrl-C to stop). Give the provider these URLs (behind your TLS proxy):")
    for endpoint in ENDPOINTS:
        how = ("  (header Authorization: Bearer <CALLBACK_TOKEN>)" if endpoint.auth == "bearer"
               else "?token=<CALLBACK_TOKEN>")
        print(f"  {endpoint.what}: {where}{endpoint.path}{how}")
    print("Load what arrived with `campaign-analytics refresh` (or the intraday schedule).")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        serve(app, sock)
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace) -> int:
    settings = load_settings(require_credentials=False)
    landing = settings.callback_landing_dir
    busy = holder_if_busy(settings.warehouse_path)
    if busy:
        # Skipped, not queued: the callbacks wait on disk for the next refresh or daily run.
        print(f"Skipped: {busy} holds WAREHOUSE_PATH {settings.warehouse_path}; the callbacks "
              f"wait in {landing} for the next refresh.")
        return EXIT_OK
    waiting = waiting_segments(landing)
    if not waiting and has_unpublished(landing):
        print("Callbacks loaded by a run that did not finish are not in the marts yet: "
              "rebuilding the campaigns they touch, publishing ...", flush=True)
    elif not waiting:
        print(f"No callbacks waiting in {landing}: nothing to refresh.")
        return EXIT_OK
    else:
        print(f"Loading {waiting} landing segment(s) from {landing}, rebuilding the campaigns "
              "they touch, publishing ...", flush=True)
    loaded = run_refresh(settings, verbose=args.verbose)
    print(f"Loaded {loaded:,} callbacks; published {settings.published_path}.")
    return EXIT_OK


def _published(args: argparse.Namespace) -> Path:
    if args.published:
        return args.published
    path = load_settings(require_credentials=False).published_path
    demo = DEMO_DIR / "published.duckdb"
    if not path.exists() and demo.exists():
        raise ConfigError(f"no published copy at {path} (PUBLISHED_PATH) yet; the demo's copy is "
                          f"{demo}: add --published {demo}")
    return path


def _out(path: Path) -> Path:
    """An --out file that can be written, checked before any work is done."""
    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder: give a file name inside it")
    if not path.parent.is_dir():
        raise ConfigError(f"--out {path}: the folder {path.parent} does not exist")
    existed = path.exists()
    try:  # the one honest test of "can this user write here" (root passes os.access)
        with path.open("a"):
            pass
    except OSError as error:
        raise ConfigError(f"--out {path}: cannot write there ({error.strerror})") from None
    if not existed:
        path.unlink()
    return path


def cmd_status(args: argparse.Namespace) -> int:
    path = _published(args)
    status = read_status(path)
    now = dt.datetime.now(dt.UTC)
    print(f"Published copy: {path}")
    print(f"  published {status.published_at:%Y-%m-%d %H:%M} UTC by run {status.run_id or '-'}, "
          f"phone numbers {status.phone_numbers}")
    print("\nLast ingest runs")
    print(format_table(
        ["provider", "channel", "finished (UTC)", "age (h)", "fresh", "campaigns pulled",
         "records", "rejected"],
        [(v, c, f"{f:%Y-%m-%d %H:%M}", round((now - f).total_seconds() / 3600, 1),
          "yes" if now - f <= dt.timedelta(hours=FRESHNESS_MAX_AGE_HOURS) else "STALE", p, r, j)
         for v, c, f, p, r, j in status.runs]))
    print(f"\nAPI requests of the last ingest runs (minutes at the provider's documented rate: "
          f"Exotel {DEFAULT_RATE_LIMIT_PER_MINUTE} a minute, Brevo {BREVO_REQUESTS_PER_HOUR} "
          "an hour)")
    print(format_table(
        ["provider", "channel", "finished (UTC)", "requests", "list", "campaign", "detail",
         "message", "retries", "campaigns", "skipped", "polled", "minutes"],
        [(v, c, f"{f:%Y-%m-%d %H:%M}", *rest) for v, c, f, *rest in status.requests]))
    for provider, finished, spent, left, size in status.budgets:
        print(f"  {PROVIDER_NAMES.get(provider, provider)}'s request budget: its last run "
              f"({finished:%Y-%m-%d %H:%M} UTC) spent {spent}, leaving "
              f"{'?' if left is None else left} of {size} in the window")
    print("\nRow counts")
    print(format_table(["table", "rows"], status.row_counts))
    if status.lake_tables:
        files = sum(t[2] for t in status.lake_tables)
        mib = sum(t[4] for t in status.lake_tables)
        print(f"\nRaw lake at {status.lake}: {files:,} Parquet files, {mib:,.1f} MiB")
        print(format_table(["provider", "table", "files", "records", "MiB"],
                           status.lake_tables))
    print(f"\nRejected records: {status.rejected_total:,} in all")
    if status.rejected_top:
        print(format_table(["entity", "failed checks", "records"], status.rejected_top))
    print("\nEnded campaigns whose details do not reconcile with their stats: "
          f"{len(status.unreconciled)}")
    if status.unreconciled:
        print(format_table(["channel", "campaign", "name", "in warehouse", "reported"],
                           status.unreconciled))
    if status.file_loads:
        print("\nContact and conversion files loaded (rejected rows, each with its line: "
              "ops.rejected_file_rows)")
        print(format_table(["kind", "file", "loaded (UTC)", "rows", "stored", "rejected"],
                           [(k, f, f"{at:%Y-%m-%d %H:%M}", r, n, j)
                            for k, f, at, r, n, j in status.file_loads]))
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    published = _published(args)
    rows = read_alerts(published, open_only=args.open, since=args.since)
    what = "open alerts" if args.open else "alerts"
    since = f" seen since {args.since:%Y-%m-%d}" if args.since else ""
    if not rows:
        print(f"No {what}{since}.")
    else:
        print(f"{len(rows)} {what}{since}")
        print(format_table(ALERT_COLUMNS, rows))
    dead = read_dead_notifications(published)
    if dead:
        print(f"\n{counted(len(dead), 'notification')} given up on after "
              f"{MAX_NOTIFICATION_RUNS} runs of retries (kept with the error, not tried "
              "again; the alerts themselves are above):")
        print(format_table(DEAD_COLUMNS, dead))
    return EXIT_OK


def _load_file(args: argparse.Namespace, load: Callable, note: str, *, built: str,
               later: str, feeds: str) -> int:
    """A file loaded into the warehouse under the run lock, then (unless --no-build) the marts
    rebuilt and published by the intraday refresh: no API requests."""
    from orchestration.defs.warehouse.resources import Warehouse

    settings = load_settings(require_credentials=False)
    with exclusive_run(settings), Warehouse(settings).connect() as con:
        print(f"Loading {args.file} into {settings.warehouse_path} ({note(settings)}) ...")
        try:
            loaded = load(con, args.file, settings)
        except duckdb.Error as error:  # not the published copy's: say whose
            first = str(error).splitlines()[0]
            raise PipelineError(f"the warehouse could not store {args.file} ({first}); "
                                "nothing of it was kept") from None
    print(loaded.summary)
    if args.no_build:
        print(f"Not rebuilt (--no-build): the next run or refresh {later}.")
        return EXIT_OK
    print(f"Rebuilding {feeds} and the models downstream of it, publishing (no API "
          "requests) ...", flush=True)
    run_refresh(settings, verbose=args.verbose,
                downstream_of=[dg.AssetKey(["staging", feeds])])
    print(f"Published: {built(settings)} in {settings.published_path}")
    return EXIT_OK


def cmd_contacts_load(args: argparse.Namespace) -> int:
    from orchestration.lib.audience.contacts import load_contacts

    return _load_file(
        args, lambda con, path, s: load_contacts(
            con, path, region=s.contacts_default_region, list_name=args.list_name,
            as_of=args.as_of),
        lambda s: f"numbers without a country code read as {s.contacts_default_region}",
        built=lambda s: "marts.dim_contacts and marts.campaign_list_performance",
        later="builds dim_contacts and the breakdowns by list",
        feeds="stg_audience__contact_versions")


def cmd_conversions_load(args: argparse.Namespace) -> int:
    from orchestration.lib.audience.conversions import load_conversions

    return _load_file(
        args, lambda con, path, s: load_conversions(
            con, path, region=s.contacts_default_region, timezone=s.account_timezone),
        lambda s: f"times without a zone read in {s.account_timezone}",
        built=lambda s: "marts.conversion_attribution, and conversions, revenue and "
        f"revenue_per_cost in the campaign performance marts ({s.revenue_currency}, "
        f"{s.attribution_window_days}-day window)",
        later="credits them to campaigns", feeds="stg_audience__conversions")


def cmd_recipient(args: argparse.Namespace) -> int:
    from orchestration.lib.audience.recipients import HEADERS, find

    settings = load_settings(require_credentials=False)
    history = find(settings, _published(args), args.who)
    if not history.rows:
        print(f"Nothing sent to {args.who} (matched by {history.matched_by}"
              + (", no contact has it" if not history.numbers else "") + ").")
        return EXIT_OK
    print(f"{counted(len(history.rows), 'message or call', 'messages and calls')} to "
          f"{args.who} (matched by "
          f"{history.matched_by}; times in {history.zone}; numbers as published)")
    print(format_rows(HEADERS, history.rows, args.format))
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    settings = load_settings(require_credentials=False)
    headers, rows = run_query(_published(args), args.sql,
                              memory_limit=settings.query_memory_limit,
                              timeout_seconds=settings.query_timeout_seconds)
    # Values as they are: codes (30004) and years (2026) read wrong with thousands separators.
    print(format_rows(headers, rows, args.format, group_digits=False))
    if args.format == "table":
        print(f"({len(rows):,} row{'' if len(rows) == 1 else 's'})")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    check_id(args.campaign)
    fmt = format_for(args.out, args.format) if args.out else (args.format or "csv")
    out = _out(args.out or Path(f"{args.what}_{args.campaign}.{fmt}"))
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    export = export_rows(_published(args), args.campaign, args.what, fields)
    write_export(out, export, fmt)
    print(f"Wrote {counted(len(export.rows), 'row')} ({export.title.lower()}) of "
          f"{args.campaign} to {out}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    if args.out and _out(args.out).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {args.out}: reports are HTML; name the file .html "
                          "(print it to PDF from the browser)")
    published = _published(args)
    if args.campaign:
        if args.start or args.end:
            raise ConfigError("--from/--to apply to --overview, not to a campaign report")
        path = write_campaign_report(published, check_id(args.campaign),
                                     _out(args.out) if args.out else None)
        print(f"Wrote the report of {args.campaign} to {path}")
        return EXIT_OK
    start = args.start.date() if args.start else None
    end = args.end.date() if args.end else None
    if start and end and end < start:
        raise ConfigError("--to must not be before --from")
    written = write_overview(published, start=start, end=end,
                             out=_out(args.out) if args.out else None,
                             with_campaigns=not args.no_campaign_reports)
    print(f"Wrote the overview to {written.overview}")
    if not written.listed and (start or end):
        print(f"  No campaign started {_range_words(start, end)}: the overview shows the open "
              "alerts only (see `campaign-analytics query \"SELECT min(started_at), "
              "max(started_at) FROM marts.dim_campaigns\"`)")
    if written.campaigns:
        print(f"  and {len(written.campaigns):,} campaign reports beside it "
              f"({written.overview.parent})")
    return EXIT_OK


def _range_words(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"between {start} and {end}"
    return f"on or after {start}" if start else f"on or before {end}"


class _Parser(argparse.ArgumentParser):
    """Argument mistakes in one line, pointing at the help, instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="campaign-analytics",
        description="Voice and SMS campaign analytics from the Exotel reporting API.",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debug detail, and dbt's progress per model")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="sandbox API -> full run -> KPI summary")
    demo.add_argument("--warehouse-dir", type=Path, default=DEMO_DIR,
                      help=f"where the demo's warehouse and published copy go ({DEMO_DIR})")
    demo.add_argument("--callback-hours", type=int, default=24, metavar="H",
                      help="after the run, push the next H hours of status callbacks through "
                      "the receiver and refresh (0: skip; default 24)")
    add_sandbox_arguments(demo)
    demo.set_defaults(handler=cmd_demo)

    sync = commands.add_parser("sync", help="the daily run, now, on the configured account")
    sync.set_defaults(handler=cmd_sync)

    backfill = commands.add_parser("backfill", help="re-pull campaigns by id or start date")
    chosen = backfill.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--campaign", nargs="+", metavar="ID", help="campaign ids")
    chosen.add_argument("--from", dest="start", type=parse_date, metavar="DATE",
                        help="first start date (YYYY-MM-DD, account time zone)")
    backfill.add_argument("--to", dest="end", type=parse_date, metavar="DATE",
                          help="last start date, inclusive (default: --from)")
    backfill.set_defaults(handler=cmd_backfill)

    sandbox = commands.add_parser("sandbox", help="serve the bundled synthetic API")
    sandbox.add_argument("--port", type=parse_port, default=8765,
                         help="port on 127.0.0.1 (default 8765)")
    add_sandbox_arguments(sandbox)
    sandbox.set_defaults(handler=cmd_sandbox)

    dev = commands.add_parser(
        "dev", help="the Dagster UI on the bundled sandbox (data/dev/, .dagster_home/)",
        description="Serve the Dagster UI with the sandbox API as the account: run history in "
        ".dagster_home/, the warehouse and published copy in data/dev/. Ctrl-C or SIGTERM stops "
        "it and everything it started.")
    dev.add_argument("--port", type=parse_port, default=3000, help="the UI's port (3000)")
    dev.add_argument("--sandbox-port", type=parse_port, default=8765,
                     help="the sandbox API's port on 127.0.0.1 (8765)")
    add_sandbox_arguments(dev)
    dev.set_defaults(handler=cmd_dev)

    docs = commands.add_parser(
        "docs", help="dbt's documentation of the models (one offline page; --serve to serve)",
        description="Run `dbt docs generate --static` with the settings a run gives dbt "
        "(WAREHOUSE_PATH, ACCOUNT_TIMEZONE, ...) and write dbt_project/target/docs/"
        "static_index.html; with --serve, also serve the site on 127.0.0.1.")
    docs.add_argument("--serve", action="store_true", help="serve the site after generating it")
    docs.add_argument("--port", type=parse_port, default=8580, help="port for --serve (8580)")
    docs.set_defaults(handler=cmd_docs)

    receive = commands.add_parser(
        "receive", help="run the status-callback receiver",
        description="Serve the callback endpoints (POST /callbacks/exotel/...) and GET /healthz. "
        "Needs CALLBACK_TOKEN; stores every callback in CALLBACK_LANDING_DIR before answering.")
    receive.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    receive.add_argument("--port", type=parse_port, default=8780, help="port (default 8780)")
    receive.set_defaults(handler=cmd_receive)

    refresh = commands.add_parser(
        "refresh", help="load received callbacks, rebuild what they touch, republish")
    refresh.set_defaults(handler=cmd_refresh)

    for name, help_text, handler in (
        ("status", "last run, freshness, row counts, rejects, unreconciled campaigns", cmd_status),
        ("query", "run SQL against the published copy", cmd_query),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--published", type=Path, help="published copy (PUBLISHED_PATH)")
        if name == "query":
            command.add_argument("sql", help='e.g. "SELECT * FROM marts.sms_campaign_performance"')
            command.add_argument("--format", choices=["table", "csv", "json"], default="table")
        command.set_defaults(handler=handler)

    alerts = commands.add_parser(
        "alerts", help="the alerts the rules raised: open, and those resolved",
        description="Alerts from the published copy, open ones first. Rules: the thresholds "
        "file (dbt_project/seeds/health_thresholds.csv); see the README.")
    alerts.add_argument("--open", action="store_true", help="only the alerts still open")
    alerts.add_argument("--since", type=parse_date, metavar="DATE",
                        help="only alerts seen on or after this day (YYYY-MM-DD, UTC)")
    alerts.add_argument("--published", type=Path, help="published copy (PUBLISHED_PATH)")
    alerts.set_defaults(handler=cmd_alerts)

    contacts = commands.add_parser(
        "contacts", help="load a contact list: lists, tags and identifiers for the reports",
        description="Load a contacts file (CSV, XLSX or Parquet) with a phone column and any of "
        "external_id, name, email, tags, lists and custom columns. Numbers become E.164 "
        "(CONTACTS_DEFAULT_REGION for numbers without a country code); rows that cannot be "
        "stored are kept in raw.rejected_contacts with the reason. Then the marts are rebuilt "
        "and published (no API requests).")
    contacts_commands = contacts.add_subparsers(dest="contacts_command", required=True)
    contacts_load = contacts_commands.add_parser("load", help="load one contacts file")
    contacts_load.add_argument("file", type=Path)
    contacts_load.add_argument("--list", dest="list_name", metavar="NAME",
                               help="put every contact of the file on this list")
    contacts_load.add_argument("--as-of", type=parse_instant, metavar="ISO",
                               help="when the file's contents became true (default: now); a "
                               "contact changed by it takes its new lists and tags from then")
    contacts_load.add_argument("--no-build", action="store_true",
                               help="load only; the next run rebuilds the marts")
    contacts_load.set_defaults(handler=cmd_contacts_load, verbose=False)

    conversions = commands.add_parser(
        "conversions", help="load conversions: revenue per campaign",
        description="Load a conversions file (CSV, XLSX or Parquet): phone or external_id, "
        "amount, currency, occurred_at (and an optional conversion_id). Each is credited to "
        "the latest campaign that reached the person within ATTRIBUTION_WINDOW_DAYS (default "
        "7); revenue counts REVENUE_CURRENCY (default INR).")
    conversions_commands = conversions.add_subparsers(dest="conversions_command", required=True)
    conversions_load = conversions_commands.add_parser("load", help="load one conversions file")
    conversions_load.add_argument("file", type=Path)
    conversions_load.add_argument("--no-build", action="store_true",
                                  help="load only; the next run rebuilds the marts")
    conversions_load.set_defaults(handler=cmd_conversions_load, verbose=False)

    recipient = commands.add_parser(
        "recipient", help="every message and call to one person, across campaigns",
        description="Look a person up by phone number (any format; matched by a keyed hash, so "
        "a masked copy stays masked), external id or email (through the contacts loaded).")
    recipient.add_argument("who", metavar="PHONE|EXTERNAL_ID|EMAIL")
    recipient.add_argument("--format", choices=["table", "csv", "json"], default="table")
    recipient.add_argument("--published", type=Path, help="published copy (PUBLISHED_PATH)")
    recipient.set_defaults(handler=cmd_recipient)

    export = commands.add_parser(
        "export", help="export a campaign's failed recipients, or all its contacts",
        description="failed: the recipients to follow up, with the reason. contacts: every "
        "recipient (SMS) or contact (voice) with its outcome. recipients: the same, with the "
        "identifiers of each person's contact (contacts load). Times in ACCOUNT_TIMEZONE; phone "
        "numbers as the published copy has them (PUBLISH_PHONE_NUMBERS), except failed, which "
        "is always full.")
    export.add_argument("what", choices=["failed", "contacts", "recipients"])
    export.add_argument("--fields", metavar="F1,F2,...",
                        help="the columns, in order: the export's own (e.g. status, "
                        "fail_reason), phone, and from the person's contact external_id, "
                        "email, name, lists, tags")
    export.add_argument("--campaign", required=True, metavar="ID")
    export.add_argument("--format", choices=["csv", "xlsx"], default=None,
                        help="csv or xlsx (default: the --out file's extension, else csv)")
    export.add_argument("--out", type=Path, help="output file (default <what>_<ID>.<format>)")
    export.add_argument("--published", type=Path, help="published copy (PUBLISHED_PATH)")
    export.set_defaults(handler=cmd_export)

    report = commands.add_parser(
        "report", help="offline HTML report of a campaign, or the account overview",
        description="Write one self-contained HTML file (charts inline, no network needed). "
        "Default location: a reports/ folder beside the published copy.")
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--campaign", metavar="ID", help="one campaign's report")
    which.add_argument("--overview", action="store_true",
                       help="the account overview, plus the report of each campaign it lists")
    report.add_argument("--from", dest="start", type=parse_date, metavar="DATE",
                        help="overview: campaigns started on or after (YYYY-MM-DD, local)")
    report.add_argument("--to", dest="end", type=parse_date, metavar="DATE",
                        help="overview: campaigns started on or before (YYYY-MM-DD, local)")
    report.add_argument("--no-campaign-reports", action="store_true",
                        help="overview: skip writing the campaign reports it links to")
    report.add_argument("--out", type=Path, help="output file")
    report.add_argument("--published", type=Path, help="published copy (PUBLISHED_PATH)")
    report.set_defaults(handler=cmd_report)
    for command in commands.choices.values():  # `-v` before or after the subcommand
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="log debug detail, and dbt's progress per model")
    # Each (sub)command knows its parser, so a stray argument points to that command's help.
    for command in [*commands.choices.values(), contacts_load, conversions_load]:
        command.set_defaults(command_parser=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        getattr(args, "command_parser", parser).error(
            f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "command", None) == "backfill" and args.start and args.end is None:
        args.end = args.start
    # Only our own loggers print here: Dagster has its own console logger (a root handler would
    # print each of its lines twice), and httpx logs every request at INFO.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    ours = logging.getLogger("campaign_analytics")
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if not args.verbose:
        # Deprecation notices from inside Dagster and dbt, repeated on every run: not the user's
        # to act on.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="dagster")
    try:
        return args.handler(args)
    except BrokenPipeError:
        # `query ... | head`: the reader took what it wanted and left, as with any Unix tool.
        # Point stdout at nothing so the exit flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ConfigError, ReadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except duckdb.Error as exc:  # the published copy lacks what a reading command needs
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: the published copy cannot answer this ({first}): point --published at "
              "a copy made by `campaign-analytics sync` or `demo`", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file the user named could not be written or read
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; whatever was not committed is rolled back on the next run",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
