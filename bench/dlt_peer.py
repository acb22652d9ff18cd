"""dlt's best configuration on the same sandbox, the peer our ingest is measured against.

The configuration (measured the best of dlt 1.31's on this machine, 2026-11-23): a hand-written
resource per detail entity that walks every campaign's pages with httpx and orjson and yields
one Arrow table per page (dlt skips its per-row normalisation for Arrow), the parquet loader
file format into DuckDB, 2 normalize workers and 100k-item file rotation. It validates
nothing and keeps no record as sent: it is the loading ceiling of a generic tool, and what it
writes (its DuckDB file) is the bytes-per-record yardstick.

    python -m bench.dlt_peer URL FOLDER      # prints one JSON line: seconds, records, bytes
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import SANDBOX_CREDENTIALS

PAGE = 1000  # the detail endpoints' largest page (the campaign lists': 500)
LIST_PAGE = 500
SETTINGS = {"NORMALIZE__WORKERS": "2", "DATA_WRITER__FILE_MAX_ITEMS": "100000",
            "RUNTIME__LOG_LEVEL": "WARNING"}


def _pages(client: httpx.Client, path: str, limit: int = PAGE
           ) -> Iterator[list[dict[str, Any]]]:
    offset = 0
    while True:
        answer = client.get(path, params={"offset": offset, "limit": limit})
        answer.raise_for_status()
        items = [entry["data"] for entry in orjson.loads(answer.content)["response"]]
        if items:
            yield items
        if len(items) < limit:
            return
        offset += limit


def run(url: str, folder: Path) -> dict[str, Any]:
    os.environ.update(SETTINGS)
    import dlt
    import pyarrow as pa

    sid = SANDBOX_CREDENTIALS["account_sid"]
    auth = (SANDBOX_CREDENTIALS["api_key"], SANDBOX_CREDENTIALS["api_token"])
    base = f"/v2/accounts/{sid}"

    def entity(kind: str, detail: str) -> Any:
        @dlt.resource(name=detail.replace("-", "_"), write_disposition="append")
        def records() -> Iterator[pa.Table]:
            with httpx.Client(base_url=url, auth=auth, timeout=60) as client:
                campaigns = [c["id"] for page in _pages(client, f"{base}/{kind}", LIST_PAGE)
                             for c in page]
                for campaign_id in campaigns:
                    for page in _pages(client, f"{base}/{kind}/{campaign_id}/{detail}"):
                        for record in page:
                            record["campaign_id"] = campaign_id
                        yield pa.Table.from_pylist(page)

        return records

    database = folder / "dlt.duckdb"
    pipeline = dlt.pipeline(pipeline_name="peer", pipelines_dir=str(folder / "pipelines"),
                            destination=dlt.destinations.duckdb(str(database)),
                            dataset_name="raw")
    started = time.perf_counter()
    pipeline.run([entity("campaigns", "call-details"), entity("sms-campaigns", "sms-details")],
                 loader_file_format="parquet")
    seconds = time.perf_counter() - started
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        records = sum(con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0]
                      for table in ("call_details", "sms_details"))
    finally:
        con.close()
    return {"seconds": seconds, "records": records, "bytes": database.stat().st_size}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], Path(sys.argv[2]))))
