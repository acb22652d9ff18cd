"""The raw lake: Parquet any engine reads, commits that are whole or absent whatever kills the
writer, one writer per lake, and the move of an older warehouse's raw tables into it."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from orchestration.defs.brevo.raw import BREVO_RAW_DDL
from orchestration.defs.warehouse.lake_tables import LAKE_TABLES
from orchestration.defs.warehouse.raw import RAW_DDL
from orchestration.lib.lake import Lake, LakeError
from orchestration.lib.warehouse import connect
from orchestration.sandbox import AccountConfig
from tests.ingest_helpers import open_warehouse, run_ingest
from tests.lake_commit_job import CALLBACKS, MESSAGES

ACCOUNT = AccountConfig(seed=21, voice_campaigns=1, sms_campaigns=2, sms_messages=(300, 600),
                        voice_contacts=(40, 60))


def _lake_files(lake: Path) -> set[str]:
    """The Parquet files in entity folders on disk (what a plain glob reader sees)."""
    return {str(p.relative_to(lake)) for p in lake.glob("provider=*/entity=*/*/*.parquet")}


def test_a_sync_lands_raw_as_parquet_that_plain_readers_read(start_sandbox, tmp_path) -> None:
    server = start_sandbox(ACCOUNT)
    warehouse = tmp_path / "warehouse.duckdb"
    assert run_ingest(server, warehouse).success
    lake = tmp_path / "lake"
    con = connect(warehouse, read_only=True)
    try:
        in_warehouse = dict(con.execute("""
            SELECT 'sms_messages', count(*) FROM raw.sms_messages UNION ALL
            SELECT 'call_attempts', count(*) FROM raw.call_attempts UNION ALL
            SELECT 'campaign_pulls', count(*) FROM raw.campaign_pulls""").fetchall())
        view = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'sms_messages'"
                           ).fetchall()[0][0]
    finally:
        con.close()
    assert in_warehouse["sms_messages"] > 300 and in_warehouse["call_attempts"] > 40
    assert "read_parquet" in view  # raw is a view over the lake, not a copy

    # DuckDB with nothing but a glob per entity (a table), hive folders as columns.
    plain = duckdb.connect()
    for entity, count in in_warehouse.items():
        glob = str(lake / "provider=*" / f"entity={entity}" / "*" / "*.parquet")
        assert plain.execute(f"""
            SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)
            WHERE provider = 'exotel' AND entity = '{entity}'""").fetchall()[0][0] == count
    glob = str(lake / "provider=exotel" / "entity=sms_messages" / "*" / "*.parquet")
    by_campaign = plain.execute(f"""
        SELECT count(DISTINCT campaign), bool_and(campaign = campaign_id)
        FROM read_parquet('{glob}', hive_partitioning = true)""").fetchall()[0]
    assert by_campaign == (2, True)

    # pyarrow, as a hive-partitioned dataset.
    messages = ds.dataset(lake / "provider=exotel" / "entity=sms_messages", format="parquet",
                          partitioning="hive").to_table()
    assert messages.num_rows == in_warehouse["sms_messages"]
    assert "record_json" in messages.column_names and "campaign" in messages.column_names
    some_file = next(iter((lake / "provider=exotel" / "entity=sms_messages").rglob("*.parquet")))
    assert pq.ParquetFile(some_file).metadata.row_group(0).column(0).compression == "ZSTD"

    # Nothing half-written left behind, and the manifest names exactly what is on disk.
    assert not any((lake / "_staging").iterdir())
    manifest = Lake(str(lake)).manifest
    assert {f.path for f in manifest.files()} == _lake_files(lake)


def _check_whole(warehouse: Path) -> int:
    """Every commit the warehouse sees is whole; returns how many there are."""
    with open_warehouse(warehouse) as con:  # the writer's open recovers the lake first
        rows = con.execute("""
            SELECT run_id, count(*) FILTER (WHERE t = 'm'), count(*) FILTER (WHERE t = 'p'),
                   count(*) FILTER (WHERE t = 'c')
            FROM (SELECT run_id, 'm' AS t FROM raw.sms_messages
                  UNION ALL SELECT run_id, 'p' FROM raw.campaign_pulls
                  UNION ALL SELECT run_id, 'c' FROM raw.callbacks)
            GROUP BY run_id""").fetchall()
    for run_id, messages, pulls, callbacks in rows:
        assert (messages, pulls, callbacks) == (MESSAGES, 1, CALLBACKS), run_id
    return len(rows)


def test_a_writer_killed_at_any_moment_leaves_whole_commits(tmp_path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    lake = tmp_path / "lake"
    rng = random.Random(7)
    seen = 0
    for _ in range(6):
        job = subprocess.Popen([sys.executable, "-m", "tests.lake_commit_job", str(warehouse)],
                               stdout=subprocess.PIPE, text=True)
        assert job.stdout.readline().strip() == "ready"
        time.sleep(0.3 + rng.random())
        assert job.poll() is None, "the commit loop ended before it was killed"
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=30)
        commits = _check_whole(warehouse)
        assert commits > seen  # it got further each time, and lost nothing committed
        seen = commits
        manifest = Lake(str(lake)).manifest
        assert manifest.moving() == {}
        assert {f.path for f in manifest.files()} == _lake_files(lake)


def test_one_writer_per_lake(tmp_path) -> None:
    """Two warehouses pointed at one lake: the second is refused, naming the fix."""
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.settings import load_settings

    def sharing(name: str) -> Warehouse:
        return Warehouse(load_settings({"WAREHOUSE_PATH": str(tmp_path / name),
                                        "LAKE_PATH": str(tmp_path / "shared")},
                                       dotenv_path=None, require_credentials=False))

    with sharing("a.duckdb").connect():
        pass
    with pytest.raises(LakeError, match="give this warehouse .* its own LAKE_PATH"), \
            sharing("b.duckdb").connect():
        pass
    with sharing("a.duckdb").connect():  # its owner still writes
        pass


def _old_warehouse(path: Path) -> dict[str, int]:
    """A warehouse as the version before the lake left it: raw tables holding the rows."""
    con = connect(path)
    try:
        con.execute(RAW_DDL)
        con.execute(BREVO_RAW_DDL)
        con.execute("""
            INSERT INTO raw.sms_messages (campaign_id, sms_sid, status, record_json, record_seq,
                                          run_id, loaded_at)
            SELECT 'camp_' || (i % 7), 'sid' || i, 'delivered', '{"id": 1}', i, 'old',
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL (i) MINUTE
            FROM range(5000) AS t(i)""")
        con.execute("""
            INSERT INTO raw.rejected_records VALUES
                ('sms_campaign', '../../etc', '../../etc', 'id is not valid', NULL, 'old', now())
            """)
        con.execute("""
            INSERT INTO raw.campaign_pulls (channel, campaign_id, run_id, is_final, loaded_at)
            SELECT 'sms', 'camp_' || i, 'old', true, now() FROM range(7) AS t(i)""")
        con.execute("INSERT INTO raw.contact_loads (load_id, rows_read) VALUES ('l1', 3)")
        return {name: con.execute(f"SELECT count(*) FROM raw.{name}").fetchall()[0][0]
                for name in LAKE_TABLES}
    finally:
        con.close()


def test_an_older_warehouse_moves_its_raw_into_the_lake_once(tmp_path, caplog) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    before = _old_warehouse(warehouse)
    con = connect(warehouse)
    checksum_sql = ("SELECT count(*), sum(hash(campaign_id, sms_sid, record_seq, loaded_at)) "
                    "FROM raw.sms_messages")
    checksum = con.execute(checksum_sql).fetchall()
    con.close()
    with caplog.at_level("WARNING"), open_warehouse(warehouse) as con:
        after = {name: con.execute(f"SELECT count(*) FROM raw.{name}").fetchall()[0][0]
                 for name in LAKE_TABLES}
        assert con.execute(checksum_sql).fetchall() == checksum
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                 "WHERE table_schema = 'raw'").fetchall())
        assert con.execute("SELECT rows_read FROM raw.contact_loads").fetchall() == [(3,)]
    assert after == before
    assert all(kinds[name] == "VIEW" for name in LAKE_TABLES)
    assert kinds["contact_loads"] == "BASE TABLE"  # the warehouse's own tables stay
    assert "moving raw.sms_messages into the lake" in caplog.text
    # A quarantined id never becomes a folder.
    assert not any("etc" in p for p in _lake_files(tmp_path / "lake"))
    with open_warehouse(warehouse) as con:  # a second open moves nothing again
        assert con.execute("SELECT count(*) FROM raw.sms_messages").fetchall()[0][0] == 5000


def test_a_move_killed_before_its_swap_is_not_copied_twice(tmp_path) -> None:
    """Killed between the lake commit and the table's swap for its view: the next open finds
    the commit in the manifest and only swaps."""
    warehouse = tmp_path / "warehouse.duckdb"
    _old_warehouse(warehouse)
    from orchestration.defs.warehouse.raw_writer import write_files

    lake = Lake(str(tmp_path / "lake"))
    con = connect(warehouse)
    commit_id = lake.new_commit()
    lake.commit(commit_id, write_files(con, lake, "raw.sms_messages", "sms_messages",
                                       commit_id), "migrate raw.sms_messages")
    con.close()
    with open_warehouse(warehouse) as con:
        assert con.execute("SELECT count(*) FROM raw.sms_messages").fetchall()[0][0] == 5000


def test_recovery_finishes_a_recorded_commit_and_drops_an_unrecorded_one(tmp_path) -> None:
    """The two states a kill can leave, made on purpose: files staged but not recorded (the
    commit never happened: removed), and a commit recorded but not moved (it happened: the
    moves are finished)."""
    from orchestration.lib.lake import LakeFile

    lake = Lake(str(tmp_path / "lake"))
    con = duckdb.connect()

    def stage(commit_id: str) -> LakeFile:
        relative = lake.relative_path("exotel", "sms_messages", "campaign", "c1", commit_id, 0)
        target = lake.staged(commit_id) / relative
        target.parent.mkdir(parents=True)
        con.execute(f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet)")
        return LakeFile(relative, "exotel", "sms_messages", "c1", 1, target.stat().st_size)

    abandoned = lake.new_commit()
    stage(abandoned)
    recorded = lake.new_commit()
    kept = stage(recorded)
    lake.manifest.record(recorded, "killed before its moves", [kept])
    assert _lake_files(tmp_path / "lake") == set()

    assert lake.recover() == 1
    assert _lake_files(tmp_path / "lake") == {kept.path}
    assert list(lake.staging_dir.iterdir()) == []
    assert lake.manifest.moving() == {}


def test_a_warehouse_copied_with_its_lake_still_reads_it_and_a_moved_lake_is_named(
        tmp_path) -> None:
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.settings import load_settings

    def opened(warehouse: Path, **env: str) -> Warehouse:
        return Warehouse(load_settings({"WAREHOUSE_PATH": str(warehouse), **env},
                                       dotenv_path=None, require_credentials=False))

    original = tmp_path / "a" / "warehouse.duckdb"
    _old_warehouse(original)
    with opened(original).connect():
        pass
    copy = tmp_path / "b" / "warehouse.duckdb"
    copy.parent.mkdir()
    import shutil

    shutil.copy(original, copy)
    shutil.copytree(original.with_name("lake"), copy.with_name("lake"))
    shutil.rmtree(original.parent)  # the copy alone: it reads its own lake, not the old paths
    with opened(copy).connect() as con:
        assert con.execute("SELECT count(*) FROM raw.sms_messages").fetchall()[0][0] == 5000
    with pytest.raises(LakeError, match="set LAKE_PATH=.*b/lake"), \
            opened(copy, LAKE_PATH=str(tmp_path / "elsewhere")).connect():
        pass


def test_the_cli_names_a_lake_that_is_not_the_warehouses_in_one_line(tmp_path) -> None:
    import os

    warehouse = tmp_path / "warehouse.duckdb"
    with open_warehouse(warehouse):
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXOTEL_", "BREVO_"))}
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "sync"], cwd=tmp_path, text=True,
        capture_output=True, timeout=300,
        env={**env, "WAREHOUSE_PATH": str(warehouse), "BREVO_API_KEY": "k",
             "LAKE_PATH": str(tmp_path / "moved")})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert f"set LAKE_PATH={tmp_path / 'lake'}" in lines[0]
