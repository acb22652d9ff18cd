"""Commits to a warehouse's lake in a loop until killed (test_lake kills it with SIGKILL).

Commit k holds 40 sms_messages rows, 1 campaign_pulls row and 3 callbacks, all with run_id
`k<k>`, so a reader can tell a whole commit from a part of one.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from tests.ingest_helpers import open_raw

MESSAGES, CALLBACKS = 40, 3


def main(warehouse: Path) -> None:
    with open_raw(warehouse) as raw:
        done = raw.con.execute("SELECT count(*) FROM raw.campaign_pulls").fetchall()[0][0]
        print("ready", flush=True)  # the test kills from here on
        for k in itertools.count(done):
            campaign = f"c{k % 3}"
            raw.con.execute("BEGIN")
            raw.insert("sms_messages", f"""
                (campaign_id, sms_sid, status, record_seq, run_id, loaded_at)
                SELECT '{campaign}', 's' || i, 'delivered', i, 'k{k}', now()
                FROM range({MESSAGES}) AS t(i)""")
            raw.insert("campaign_pulls", f"(channel, campaign_id, run_id, loaded_at) "
                       f"VALUES ('sms', '{campaign}', 'k{k}', now())")
            raw.insert("callbacks", f"""
                (callback_key, kind, received_at, run_id, loaded_at)
                SELECT 'cb{k}-' || i, 'sms', now() - INTERVAL (i) DAY, 'k{k}', now()
                FROM range({CALLBACKS}) AS t(i)""")
            raw.con.execute("COMMIT")
            raw.commit(f"commit k{k}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
