"""Run the ingest assets in a separate process (for the kill-mid-campaign test).

    python -m tests.ingest_job SANDBOX_URL WAREHOUSE_PATH
"""

import sys
from pathlib import Path

import dagster as dg

from tests.ingest_helpers import INGEST_ASSETS, ingest_config, sandbox_resources

if __name__ == "__main__":
    url, warehouse = sys.argv[1], Path(sys.argv[2])
    result = dg.materialize(INGEST_ASSETS, resources=sandbox_resources(url, warehouse),
                            run_config=ingest_config(batch_pages=2))
    sys.exit(0 if result.success else 1)
