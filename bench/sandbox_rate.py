"""Measure the sandbox's serving rate and the client's pages/second over loopback.

    .venv/bin/python -m bench.sandbox_rate [--messages 1000000] [--voice-contacts 200000]

The sandbox runs as its own process (`campaign-analytics sandbox`) and accounts the CPU time
of its request handlers (`/_sandbox/stats`), so "records per CPU-second" is the server's cost
alone, detail generation included. The client does what the pipeline's ceiling does: fetch and
JSON-parse every page, nothing else.
"""

from __future__ import annotations

import argparse
import time

import httpx

from bench.common import SANDBOX_CREDENTIALS, sandbox_process
from orchestration.lib.exotel import ExotelClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaign-size", type=int, default=250_000)
    parser.add_argument("--voice-contacts", type=int, default=200_000)
    args = parser.parse_args()
    campaigns = max(1, args.messages // args.campaign_size)
    with sandbox_process(
        "--seed", "1", "--sms-campaigns", str(campaigns), "--voice-campaigns", "1",
        "--sms-messages", f"{args.campaign_size}:{args.campaign_size}",
        "--voice-contacts", f"{args.voice_contacts}:{args.voice_contacts}",
        "--from", "2026-01-01", "--to", "2026-01-20", "--now", "2026-02-01T00:00:00+00:00",
    ) as base, ExotelClient(base, **SANDBOX_CREDENTIALS, rate_limit_per_minute=0) as client:
        for channel in ("sms", "voice"):
            campaigns_listed = list(client.iter_sms_campaigns() if channel == "sms"
                                    else client.iter_voice_campaigns())
            iterate = (client.iter_sms_detail_pages if channel == "sms"
                       else client.iter_call_detail_pages)
            before = httpx.get(f"{base}/_sandbox/stats").json()
            pages = records = 0
            started = time.perf_counter()
            for campaign in campaigns_listed:
                for page in iterate(campaign["id"]):
                    pages += 1
                    records += len(page.records)
            wall = time.perf_counter() - started
            after = httpx.get(f"{base}/_sandbox/stats").json()
            cpu = after["cpu_seconds"] - before["cpu_seconds"]
            print(f"{channel:5}: {records:,} records, {pages:,} pages in {wall:.1f}s | "
                  f"server {records / cpu:,.0f} records per CPU-second | "
                  f"client {pages / wall:,.1f} pages/s, {records / wall:,.0f} records/s")


if __name__ == "__main__":
    main()
