"""Load the landing log's closed segments into `raw.callbacks`, each exactly once.

One lake commit per segment holds its callbacks, its rejects (also in `raw.rejected_records`,
with their reasons) and its row in `raw.callback_segments`. The file is moved to loaded/ only
after the commit, and a segment already recorded is moved without loading it again, so a crash
between any two steps neither loses nor doubles a callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.defs.warehouse.raw_writer import RawWriter
from orchestration.lib.callbacks.landing import mark_loaded, ready_segments, recover_abandoned

LINE_COLUMNS = ("{callback_key: 'VARCHAR', kind: 'VARCHAR', received_at: 'TIMESTAMPTZ', "
                "payload: 'JSON', reject_reason: 'VARCHAR'}")


@dataclass
class CallbackLoad:
    segments: int = 0
    callbacks: int = 0
    rejected: int = 0
    unreadable: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def load_callbacks(raw: RawWriter, landing_dir: Path, run_id: str) -> CallbackLoad:
    """Every closed segment under `landing_dir`, oldest first (segments left open by a receiver
    that died are closed first)."""
    result = CallbackLoad()
    if not landing_dir.exists():
        return result
    recover_abandoned(landing_dir)
    segments = ready_segments(landing_dir)
    con = raw.con
    recorded = {name for (name,) in con.execute(
        "SELECT segment FROM raw.callback_segments WHERE list_contains(?, segment)",
        [[segment.name for segment in segments]]).fetchall()}
    for segment in segments:
        if segment.name not in recorded:
            try:
                _load_segment(raw, segment, run_id, result)
            except duckdb.Error as error:
                _set_aside(raw, landing_dir, segment, error, run_id)
                result.unreadable += 1
                continue
        mark_loaded(landing_dir, segment)
    return result


def _set_aside(raw: RawWriter, landing_dir: Path, segment: Path,
               error: duckdb.Error, run_id: str) -> None:
    """A segment DuckDB cannot read (the receiver never writes one; a disk fault could) goes to
    unreadable/ and is named in raw.rejected_records, so the run goes on and nothing is lost
    silently: fix the file and move it back to ready/ to load it."""
    unreadable = landing_dir / "unreadable"
    unreadable.mkdir(exist_ok=True)
    segment.replace(unreadable / segment.name)
    reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else "unreadable"
    raw.insert("rejected_records", "VALUES ('callback_segment', NULL, ?, ?, NULL, ?, now())",
               [segment.name, f"landing segment set aside in {unreadable}: {reason}", run_id])
    raw.commit(f"callback segment {segment.name} set aside")


def _load_segment(raw: RawWriter, segment: Path, run_id: str, result: CallbackLoad) -> None:
    con = raw.con
    con.execute("BEGIN")
    try:
        callbacks = raw.table("callbacks")
        if segment.stat().st_size > 0:
            # The file name is ours (landing.SEGMENT_NAME) and passed as a parameter.
            con.execute(f"""
                INSERT INTO {callbacks}
                SELECT callback_key, kind, received_at, payload, reject_reason, ? AS segment,
                       row_number() OVER () AS line_no, ? AS run_id, now() AS loaded_at
                FROM read_json(?, columns = {LINE_COLUMNS}, format = 'newline_delimited')
            """, [segment.name, run_id, str(segment)])
            raw.insert("rejected_records", f"""
                SELECT 'callback_' || kind, payload ->> 'CampaignSid', callback_key,
                       reject_reason, payload, run_id, loaded_at
                FROM {callbacks} WHERE segment = ? AND reject_reason IS NOT NULL
            """, [segment.name])
        counts = con.execute(f"""
            SELECT kind, count(*), count(reject_reason) FROM {callbacks}
            WHERE segment = ? GROUP BY kind
        """, [segment.name]).fetchall()
        total = sum(n for _, n, _ in counts)
        rejected = sum(r for _, _, r in counts)
        raw.insert("callback_segments", "VALUES (?, ?, ?, ?, now())",
                   [segment.name, total, rejected, run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raw.discard()
        raise
    raw.commit(f"callback segment {segment.name}")
    result.segments += 1
    result.callbacks += total
    result.rejected += rejected
    for kind, n, _ in counts:
        result.kinds[kind] = result.kinds.get(kind, 0) + n
