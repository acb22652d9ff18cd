"""What a CLI run prints without `-v`: one line per thing done, in words, no log format.

Dagster's console logger prints every line with a timestamp, the job, the run id and the step,
and dagster-dbt adds its own housekeeping (the subset it did not take, the partial-parse file it
copied, the dbt command with its vars, twice). People running `sync` or `demo` read what was
done, how many and how long; the full log stays behind `-v` and in Dagster's run storage.
"""

from __future__ import annotations

import logging
import re
import sys

import dagster as dg

# dagster-dbt's messages about its own mechanics: true, but nothing a user acts on.
HOUSEKEEPING = re.compile(
    r"^(A dbt subsetted execution is (not )?being performed"
    r"|Copying `.*partial_parse\.msgpack`"
    r"|(Running|Finished) dbt command: "
    r"|Using the default dbt selection"
    # A dbt build skipped as unchanged yields no outputs; its own line says why.
    r"|op '.*' did not yield or return expected outputs"
    r"|Skipping step .* due to skipped dependencies"
    # After a failed step, each later step says it did not run: the run's last line names
    # the failure once.
    r"|Dependencies for step .* (failed|were not executed))"
)

# A step's label for people: what it does, not its op name.
STEP_LABELS = {
    "raw__callbacks": "callbacks",
    "sms_ingest": "sms",
    "voice_ingest": "voice",
    "raw__brevo_sms": "brevo",
    "raw__number_prefixes": "numbers",
    "raw__contacts": "contacts",
    "warehouse_models": "dbt build",
    "marts__alerts": "alerts",
    "alert_rule_checks": "alerts",
    "published__marts": "publish",
    "published__reports": "reports",
}
LABEL_WIDTH = max(len(label) for label in STEP_LABELS.values())


class StepLineHandler(logging.Handler):
    """Prints a run's own messages as `  <step>  <message>` on stderr (where progress bars
    draw), dropping Dagster's event lines and dagster-dbt's housekeeping."""

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        if meta.get("dagster_event") is not None:
            # Step started, succeeded, failed, materialized...: the run's own lines say what
            # was done, and a failed run ends with its cause in one line (the runner's).
            return
        message = str(meta.get("orig_message", record.getMessage()))
        if HOUSEKEEPING.match(message):
            return
        step = meta.get("step_key") or ""
        label = STEP_LABELS.get(step, step.replace("__", " ").replace("_", " "))
        first = message.strip().splitlines()[0] if message.strip() else ""
        first = first.removeprefix(f"{label}: ")  # "sms: 8 campaigns listed" under "sms"
        stream = sys.stderr  # looked up now: a test or the CLI may have replaced it
        stream.write(f"  {label:<{LABEL_WIDTH}}  {first}\n")
        stream.flush()


@dg.logger(
    dg.Field({"log_level": dg.Field(str, is_required=False, default_value="INFO")}),
    description="One plain line per message of the run (the CLI without -v).",
)
def step_lines_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = logging.getLevelName(init_context.logger_config["log_level"].upper())
    quiet = logging.Logger("campaign_analytics.run", level=level)
    quiet.addHandler(StepLineHandler())
    return quiet


QUIET_LOGGER = "step_lines"
