"""A BI-tool stand-in: holds one read-only connection to the published copy and keeps querying.

    python -m tests.published_reader PUBLISHED_PATH STOP_FILE

Prints one JSON line per query round: which publish it sees, and whether the marts agree with
each other (a half-built copy would not). Exits when STOP_FILE exists.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

if __name__ == "__main__":
    published, stop = Path(sys.argv[1]), Path(sys.argv[2])
    con = duckdb.connect(str(published), read_only=True)
    print(json.dumps({"ready": True}), flush=True)
    while not stop.exists():
        try:
            seen = con.execute("SELECT published_at::VARCHAR FROM ops.publish").fetchall()[0][0]
            totals = con.execute("""
                SELECT (SELECT sum(messages_total) FROM marts.sms_campaign_performance),
                       (SELECT count(*) FROM marts.fct_sms_messages),
                       (SELECT sum(volume) FROM marts.time_of_day WHERE channel = 'sms')
            """).fetchall()[0]
            print(json.dumps({"published_at": seen, "consistent": len(set(totals)) == 1,
                              "messages": totals[1]}), flush=True)
        except duckdb.Error as error:
            print(json.dumps({"error": str(error)}), flush=True)
        time.sleep(0.05)
    con.close()
