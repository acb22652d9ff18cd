"""`campaign-analytics demo`: the whole product on the bundled sandbox, no credentials needed."""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from orchestration.arguments import sandbox_from_args
from orchestration.lib.callbacks.receiver import ReceiverThread
from orchestration.lib.reports import write_overview
from orchestration.lib.settings import Settings, load_settings
from orchestration.lib.summaries import audience_summary, sms_totals
from orchestration.runner import exclusive_run
from orchestration.runs import run_daily, run_refresh
from orchestration.sandbox.brevo import BrevoAccountConfig, BrevoSandbox
from orchestration.sandbox.brevo_push import BrevoWebhookPusher
from orchestration.sandbox.push import CallbackPusher, PushFaults
from orchestration.sandbox.server import SandboxServer

DEMO_DIR = Path("data/demo")
# The sandboxes' price lists, in INR (a Brevo credit: what one SMS part to France costs /4.5).
SANDBOX_PRICES = {"SMS_CREDIT_PRICE": "0.25", "VOICE_PULSE_PRICE": "0.60",
                  "BREVO_CREDIT_PRICE": "0.20"}


def run_demo(args: argparse.Namespace) -> None:
    """Sandbox APIs (Exotel and Brevo) -> contacts -> full run -> KPI summary -> callbacks and
    webhooks -> refresh -> reports."""
    with sandbox_from_args(args, port=0) as server, _brevo_sandbox(args, server) as brevo:
        print(f"Started the bundled sandbox API on {server.url} (seed {args.seed}): "
              f"{args.voice_campaigns} voice and {args.sms_campaigns} SMS campaigns; and a "
              f"Brevo account on {brevo.url}: {len(brevo.account.campaigns)} SMS campaigns "
              "and transactional SMS every day.")
        settings = load_settings({
            **os.environ, **server.environment(), **brevo.environment(),
            "WAREHOUSE_PATH": str(args.warehouse_dir / "warehouse.duckdb"),
            "PUBLISHED_PATH": str(args.warehouse_dir / "published.duckdb"),
            "CALLBACK_LANDING_DIR": str(args.warehouse_dir / "callbacks"),
            "CALLBACK_TOKEN": secrets.token_urlsafe(24),
            # The sandbox's price list, so revenue per cost compares money with money.
            **{name: os.environ.get(name) or price for name, price in SANDBOX_PRICES.items()},
        }, dotenv_path=None)
        _demo_contacts(settings, server)
        run_daily(settings, None, verbose=args.verbose)
        print("\n" + audience_summary(settings.published_path))
        if args.callback_hours:
            _demo_callbacks(settings, server, brevo, args.callback_hours, verbose=args.verbose)
        written = write_overview(settings.published_path)
        print(f"\nReports (open in a browser, no network needed): {written.overview}")
        published = settings.published_path
        print("Next, look around:\n"
              f"  campaign-analytics status --published {published}\n"
              f"  campaign-analytics query --published {published} "
              "\"SELECT * FROM marts.sms_campaign_performance\"")


def _demo_contacts(settings: Settings, server: SandboxServer) -> None:
    """The sender's contact list (the sandbox writes one for its own recipients), loaded before
    the run so its marts show metrics by list and the people can be looked up."""
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.audience.contacts import load_contacts
    from orchestration.lib.audience.conversions import load_conversions
    from orchestration.sandbox.audience import (
        sandbox_contacts,
        sandbox_conversions,
        write_contacts_csv,
        write_conversions_csv,
    )

    folder = settings.warehouse_path.parent
    contacts = sandbox_contacts(server.config)
    rows = write_contacts_csv(contacts, folder / "contacts.csv")
    sales = write_conversions_csv(contacts, sandbox_conversions(server.config, contacts),
                                  folder / "conversions.csv")
    with exclusive_run(settings), Warehouse(settings).connect() as con:
        loaded = load_contacts(con, folder / "contacts.csv",
                               region=settings.contacts_default_region)
        converted = load_conversions(con, folder / "conversions.csv",
                                     region=settings.contacts_default_region,
                                     timezone=settings.account_timezone)
    print(f"Contacts: the sandbox's list {folder / 'contacts.csv'} ({rows:,} rows, its numbers "
          "written several ways) loaded:\n  " + loaded.summary.replace("\n", "\n  "))
    print(f"Conversions: {folder / 'conversions.csv'} ({sales:,} rows) loaded:\n  "
          + converted.summary.replace("\n", "\n  "))


def _brevo_sandbox(args: argparse.Namespace, server: SandboxServer) -> BrevoSandbox:
    """A Brevo account over the same days as the Exotel sandbox's, at the same clock."""
    config = BrevoAccountConfig(seed=args.seed, campaigns=5, recipients=(300, 1_200),
                                transactional_per_day=(40, 120), start=args.start, end=args.end)
    return BrevoSandbox(config, now=server.clock.as_datetime())  # started by `with`


def _demo_callbacks(settings: Settings, server: SandboxServer, brevo: BrevoSandbox, hours: int,
                    *, verbose: bool) -> None:
    """The push half, end to end: the receiver on a free port, both sandboxes pushing the next
    `hours` of status changes to it (some twice, some out of order), then a refresh."""
    _, delivered_before, _, pending_before = sms_totals(settings.published_path)
    with ReceiverThread(settings.callback_landing_dir, settings.callback_token) as receiver:
        print(f"\nCallbacks: the receiver listens on {receiver.url} (landing folder "
              f"{settings.callback_landing_dir}); the sandbox pushes the next {hours} hours of "
              "status changes to it, some twice and some out of order ...", flush=True)
        start = server.clock.now()
        pusher = CallbackPusher(server, receiver.url, settings.callback_token.reveal(),
                                faults=PushFaults(duplicate_share=0.05, out_of_order_share=0.05,
                                                  delayed_share=0.02))
        pushed = pusher.push(start, start + hours * 3600)
        webhooks = BrevoWebhookPusher(
            brevo, receiver.url, settings.callback_token.reveal(),
            faults=PushFaults(duplicate_share=0.05, out_of_order_share=0.05)
        ).push(start, start + hours * 3600)
        server.clock.advance(hours * 3600)
        brevo.advance(hours * 3600)
    print(f"  {pushed.events:,} status changes, {pushed.sent:,} callbacks sent "
          f"({pushed.sent - pushed.events - pushed.retried:,} of them twice), "
          f"{pushed.accepted:,} answered 200 and stored.")
    print(f"  Brevo: {webhooks.events:,} SMS events, {webhooks.sent:,} webhooks sent "
          f"(Authorization: Bearer), {webhooks.accepted:,} answered 200 and stored.")
    loaded = run_refresh(settings, verbose=verbose)
    _, delivered, _, pending = sms_totals(settings.published_path)
    print(f"  Refreshed: {loaded:,} callbacks loaded; SMS messages pending "
          f"{pending_before:,} -> {pending:,}, delivered {delivered_before:,} -> {delivered:,} "
          "(marts.sms_status_history keeps every step).")


