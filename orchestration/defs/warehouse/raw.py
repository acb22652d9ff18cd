"""The `raw` schema the ingest appends to.

Raw tables are append-only: every pull of a record adds a row with the typed contract fields,
the original record as JSON, the campaign id, the run id and the load time. Deduplication and
"latest status wins" happen in dbt staging. No primary keys: on big append-only tables they
make loads 2x slower and deletes 20x slower (docs/measurements.md); dbt tests uniqueness
downstream.
"""

RAW_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.voice_campaigns (
    campaign_id VARCHAR, name VARCHAR, status VARCHAR, created_at TIMESTAMPTZ,
    start_time TIMESTAMPTZ, end_time TIMESTAMPTZ, caller_id VARCHAR,
    number_of_retries INTEGER, retry_interval_mins INTEGER, retry_mechanism VARCHAR,
    retry_on_status VARCHAR,
    stats_created BIGINT, stats_completed BIGINT, stats_failed BIGINT, stats_pending BIGINT,
    stats_in_progress BIGINT, stats_busy BIGINT, stats_no_answer BIGINT,
    record_json JSON, record_seq BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.sms_campaigns (
    campaign_id VARCHAR, name VARCHAR, status VARCHAR, created_at TIMESTAMPTZ,
    start_time TIMESTAMPTZ, end_time TIMESTAMPTZ, sender_id VARCHAR, message_type VARCHAR,
    dlt_template_id VARCHAR,
    stats_total BIGINT, stats_submitted BIGINT, stats_delivered BIGINT, stats_failed BIGINT,
    stats_pending BIGINT, stats_rejected BIGINT,
    record_json JSON, record_seq BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.call_attempts (
    campaign_id VARCHAR, call_sid VARCHAR, to_number VARCHAR, from_number VARCHAR,
    status VARCHAR, start_time TIMESTAMPTZ, end_time TIMESTAMPTZ, duration INTEGER,
    recording_url VARCHAR, attempt_number INTEGER, price DECIMAL(18, 6),
    record_json JSON, record_seq BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.sms_messages (
    campaign_id VARCHAR, sms_sid VARCHAR, to_number VARCHAR, status VARCHAR,
    submitted_at TIMESTAMPTZ, delivered_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    error_code VARCHAR, error_message VARCHAR, detailed_status VARCHAR,
    detailed_status_code INTEGER, parts INTEGER, cost DECIMAL(18, 6),
    record_json JSON, record_seq BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

-- Records that failed their contract, with the failed checks in words. Never dropped silently.
CREATE TABLE IF NOT EXISTS raw.rejected_records (
    entity VARCHAR, campaign_id VARCHAR, natural_key VARCHAR, failed_checks VARCHAR,
    record_json JSON, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

-- One row per campaign pull that landed whole (written in the same transaction as its data).
CREATE TABLE IF NOT EXISTS raw.campaign_pulls (
    channel VARCHAR, campaign_id VARCHAR, run_id VARCHAR, campaign_status VARCHAR,
    campaign_end_time TIMESTAMPTZ, pulled_at TIMESTAMPTZ, is_final BOOLEAN,
    pages INTEGER, records BIGINT, rejected BIGINT, detail_total BIGINT,
    reported_total BIGINT, is_reconciled BOOLEAN, seconds DOUBLE, loaded_at TIMESTAMPTZ,
    window_closed BOOLEAN, campaign_rejected BOOLEAN
);
-- Warehouses made before these columns: is_final then also meant "window closed".
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS window_closed BOOLEAN;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS campaign_rejected BOOLEAN;
-- Request economy (defs/exotel/economy.py): how the details were read ("pages", "messages":
-- the pending ones one by one, "skipped") and why, the requests the campaign took, its stats
-- as read, and how many of its messages still wait on an outcome.
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS detail_mode VARCHAR;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS detail_reason VARCHAR;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS messages_polled INTEGER;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS pending_units BIGINT;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS requests INTEGER;
ALTER TABLE raw.campaign_pulls ADD COLUMN IF NOT EXISTS stats JSON;

-- Every callback the receiver stored, as received (payload: every field it carried), from the
-- landing log's closed segments. reject_reason is set for the ones answered 400.
CREATE TABLE IF NOT EXISTS raw.callbacks (
    callback_key VARCHAR, kind VARCHAR, received_at TIMESTAMPTZ, payload JSON,
    reject_reason VARCHAR, segment VARCHAR, line_no BIGINT, run_id VARCHAR,
    loaded_at TIMESTAMPTZ
);

-- One row per landing segment loaded, in the same transaction as its callbacks: a segment is
-- loaded once, whatever crashes when.
CREATE TABLE IF NOT EXISTS raw.callback_segments (
    segment VARCHAR, callbacks BIGINT, rejected BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

-- One row per channel per successful ingest run: what was listed, pulled and loaded, and the
-- API requests it took (every attempt, retries included: the rate limit counts them all).
CREATE TABLE IF NOT EXISTS raw.ingest_runs (
    channel VARCHAR, run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    campaigns_listed INTEGER, campaigns_pulled INTEGER, campaigns_not_found INTEGER,
    records BIGINT, rejected BIGINT
);
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS requests INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS list_requests INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS campaign_requests INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS detail_requests INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS message_requests INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS retries INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS campaigns_skipped INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS messages_polled INTEGER;
"""
