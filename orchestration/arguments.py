"""The command line's argument types and the sandbox's knobs (shared by `sandbox`, `demo` and
`dev`): each type turns a mistake into one line naming what was expected."""

from __future__ import annotations

import argparse
import datetime as dt

from orchestration.lib.settings import ConfigError
from orchestration.sandbox.generator import AccountConfig
from orchestration.sandbox.server import Faults, SandboxServer


def parse_date(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def parse_instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-01-15T10:00:00+05:30, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_indexes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected campaign numbers such as 0,3, got {text!r}")
    return values


def parse_range(text: str) -> tuple[int, int]:
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


def parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 1 and 65535, got {text!r}")
    return port


def parse_share(text: str) -> float:
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
    data.add_argument("--voice-contacts", type=parse_range, default=(300, 3000),
                      metavar="MIN:MAX")
    data.add_argument("--sms-messages", type=parse_range, default=(1000, 10000),
                      metavar="MIN:MAX")
    data.add_argument("--from", dest="start", type=parse_date,
                      default=today - dt.timedelta(days=14),
                      metavar="DATE", help="first day campaigns may start (default: 14 days ago)")
    data.add_argument("--to", dest="end", type=parse_date, default=today, metavar="DATE",
                      help="day after the last campaign start (default: today)")
    data.add_argument("--now", type=parse_instant, default=None, metavar="ISO",
                      help="freeze the server's clock (default: the real clock)")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--rate-429", type=parse_share, default=0.0, metavar="SHARE")
    faults.add_argument("--rate-5xx", type=parse_share, default=0.0, metavar="SHARE")
    faults.add_argument("--retry-after", type=int, default=1, metavar="SECONDS")
    faults.add_argument("--latency-ms", type=float, default=0.0, metavar="MS")
    faults.add_argument("--extra-keys", type=parse_share, default=0.0, metavar="SHARE",
                        help="share of records carrying unknown extra keys")
    faults.add_argument("--malformed", type=parse_share, default=0.0, metavar="SHARE",
                        help="share of records served malformed")
    faults.add_argument("--dlt-problem", type=parse_indexes, default=(), metavar="N[,N...]",
                        help="SMS campaigns (0 = the oldest) whose DLT template is rejected "
                        "for 20%% of messages: a case for the alerts")
    faults.add_argument("--sms-outage", type=parse_instant, default=None, metavar="ISO",
                        help="an operator outage from this instant for an hour: SMS messages "
                        "submitted in it fail at the operator, half of them (a case for the "
                        "drop alert)")
    faults.add_argument("--broken-pages", type=parse_share, default=0.0, metavar="SHARE",
                        help="share of detail pages answered 200 without the envelope")


def sandbox_from_args(args: argparse.Namespace, *, port: int) -> SandboxServer:
    if args.end <= args.start:
        raise ConfigError("--to must be after --from")
    config = AccountConfig(
        seed=args.seed, voice_campaigns=args.voice_campaigns, sms_campaigns=args.sms_campaigns,
        voice_contacts=args.voice_contacts, sms_messages=args.sms_messages, start=args.start,
        end=args.end, malformed_share=args.malformed, extra_keys_share=args.extra_keys,
        dlt_problem_campaigns=args.dlt_problem, sms_outage_start=args.sms_outage,
    )
    faults = Faults(
        rate_429=args.rate_429, rate_5xx=args.rate_5xx, retry_after_seconds=args.retry_after,
        latency_ms=args.latency_ms, broken_page_share=args.broken_pages,
        extra_envelope_keys=args.extra_keys > 0,
    )
    return SandboxServer(config, port=port, now=args.now, faults=faults)


