"""`campaign-analytics`: the command line for people who don't open Dagster.

Subcommands:
  sandbox   serve the bundled synthetic API on 127.0.0.1 (no credentials needed)
  demo      start a sandbox in-process and pull every campaign through the client
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Sequence

from orchestration.lib.exotel import ExotelClient, ExotelError
from orchestration.lib.exotel.walk import CampaignCount, walk_account
from orchestration.lib.settings import ConfigError
from orchestration.sandbox.generator import AccountConfig
from orchestration.sandbox.server import Faults, SandboxServer

log = logging.getLogger("campaign_analytics")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _date(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-01-15T10:00:00+05:30, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _range(text: str) -> tuple[int, int]:
    try:
        low, _, high = text.partition(":")
        bounds = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected MIN:MAX such as 500:5000, got {text!r}"
        ) from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected 1 <= MIN <= MAX, got {text!r}")
    return bounds


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1], got {text!r}")
    return value


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's knobs, shared by `sandbox` and `demo`."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    data = parser.add_argument_group("sandbox data")
    data.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    data.add_argument("--voice-campaigns", type=int, default=4, metavar="N")
    data.add_argument("--sms-campaigns", type=int, default=8, metavar="N")
    data.add_argument("--voice-contacts", type=_range, default=(300, 3000), metavar="MIN:MAX")
    data.add_argument("--sms-messages", type=_range, default=(1000, 10000), metavar="MIN:MAX")
    data.add_argument("--from", dest="start", type=_date, default=today - dt.timedelta(days=14),
                      metavar="DATE", help="first day campaigns may start (default: 14 days ago)")
    data.add_argument("--to", dest="end", type=_date, default=today, metavar="DATE",
                      help="day after the last campaign start (default: today)")
    data.add_argument("--now", type=_instant, default=None, metavar="ISO",
                      help="freeze the server's clock (default: the real clock)")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--rate-429", type=_share, default=0.0, metavar="SHARE")
    faults.add_argument("--rate-5xx", type=_share, default=0.0, metavar="SHARE")
    faults.add_argument("--retry-after", type=int, default=1, metavar="SECONDS")
    faults.add_argument("--latency-ms", type=float, default=0.0, metavar="MS")
    faults.add_argument("--extra-keys", type=_share, default=0.0, metavar="SHARE",
                        help="share of records carrying unknown extra keys")
    faults.add_argument("--malformed", type=_share, default=0.0, metavar="SHARE",
                        help="share of records served malformed")
    faults.add_argument("--broken-pages", type=_share, default=0.0, metavar="SHARE",
                        help="share of detail pages answered 200 without the envelope")


def sandbox_from_args(args: argparse.Namespace, *, port: int) -> SandboxServer:
    if args.end <= args.start:
        raise ConfigError("--to must be after --from")
    config = AccountConfig(
        seed=args.seed, voice_campaigns=args.voice_campaigns, sms_campaigns=args.sms_campaigns,
        voice_contacts=args.voice_contacts, sms_messages=args.sms_messages, start=args.start,
        end=args.end, malformed_share=args.malformed, extra_keys_share=args.extra_keys,
    )
    faults = Faults(
        rate_429=args.rate_429, rate_5xx=args.rate_5xx, retry_after_seconds=args.retry_after,
        latency_ms=args.latency_ms, broken_page_share=args.broken_pages,
        extra_envelope_keys=args.extra_keys > 0,
    )
    return SandboxServer(config, port=port, now=args.now, faults=faults)


def cmd_sandbox(args: argparse.Namespace) -> int:
    server = sandbox_from_args(args, port=args.port)
    print(f"Sandbox API listening on {server.url} (Ctrl-C to stop). Point the pipeline at it:")
    print(f"  EXOTEL_BASE_URL={server.url}")
    print(f"  EXOTEL_ACCOUNT_SID={server.account_sid}")
    print(f"  EXOTEL_API_KEY={server.api_key}")
    print(f"  EXOTEL_API_TOKEN={server.api_token}")
    print("  EXOTEL_RATE_LIMIT_PER_MINUTE=0")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    with sandbox_from_args(args, port=0) as server:
        print(f"Started the bundled sandbox API on {server.url} (seed {args.seed}).")
        with ExotelClient(server.url, server.account_sid, server.api_key, server.api_token,
                          rate_limit_per_minute=0) as client:

            def progress(count: CampaignCount) -> None:
                print(f"  {count.channel:5} {count.campaign_id:22} {count.status:12} "
                      f"{count.records:>8,} records in {count.pages:>3} pages  {count.name}")

            walk = walk_account(client, on_campaign=progress)
            stats = client.stats
    print(f"Pulled {walk.records:,} records from {len(walk.campaigns)} campaigns in "
          f"{walk.seconds:.1f}s ({stats.pages} pages, {stats.requests} requests, "
          f"{stats.retries} retries).")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaign-analytics",
        description="Voice and SMS campaign analytics from the Exotel reporting API.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sandbox = commands.add_parser("sandbox", help="serve the bundled synthetic API")
    sandbox.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    add_sandbox_arguments(sandbox)
    sandbox.set_defaults(handler=cmd_sandbox)

    demo = commands.add_parser("demo", help="pull a sandbox account end to end")
    add_sandbox_arguments(demo)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO: a line per page drowns the progress that matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ExotelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
