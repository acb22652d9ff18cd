"""The pull ledger (`raw.campaign_pulls`): what every provider's ingest recorded of each campaign
pull, read by the ingest (which campaigns to pull) and the pipeline alerts (which were given up
on). Provider-neutral: a row per pull, whatever the provider."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from orchestration.lib.rules import UNRECONCILED_PULL_ATTEMPTS


@dataclass(frozen=True)
class LedgerState:
    """What the pull ledger says of a campaign."""

    is_final: bool = False
    # Pulls after the receipt window closed whose details did not reconcile with the stats.
    unreconciled_pulls: int = 0

    @property
    def given_up(self) -> bool:
        return not self.is_final and self.unreconciled_pulls >= UNRECONCILED_PULL_ATTEMPTS


def read_ledger(con: duckdb.DuckDBPyConnection, channel: str) -> dict[str, LedgerState]:
    """Each pulled campaign's state, from `raw.campaign_pulls`."""
    rows = con.execute(
        """
        SELECT campaign_id, arg_max(is_final, loaded_at),
               count(*) FILTER (WHERE coalesce(window_closed, is_final) AND NOT is_reconciled
                                AND NOT coalesce(campaign_rejected, false))
        FROM raw.campaign_pulls WHERE channel = ? GROUP BY campaign_id
        """, [channel]).fetchall()
    return {campaign_id: LedgerState(bool(final), int(tries)) for campaign_id, final, tries in rows}
