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
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS campaigns_failed INTEGER;
-- The provider of the run (NULL on Exotel's rows of earlier versions), and where a provider
-- budgets requests (Brevo: 100 an hour) what was left of it and its size at the run's end.
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS provider VARCHAR;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS budget_remaining INTEGER;
ALTER TABLE raw.ingest_runs ADD COLUMN IF NOT EXISTS budget_limit INTEGER;
-- A campaign a run could not pull (the API failed for it alone past its retries, or answered it
-- broken): nothing of it was kept, the other campaigns landed, the next run tries it again.
CREATE TABLE IF NOT EXISTS raw.campaign_pull_failures (
    channel VARCHAR, campaign_id VARCHAR, run_id VARCHAR, error VARCHAR, failed_at TIMESTAMPTZ
);

-- Contacts (`campaign-analytics contacts load`): one row per version of a contact, keyed by its
-- E.164 number. A contact's first version is valid from the start of time (what it was before
-- is unknown, and the first known is the best guess for campaigns already sent); a later load
-- that changes it closes the current version (valid_to) and opens a new one, so a campaign is
-- reported by the lists and tags its recipients had when it reached them.
CREATE TABLE IF NOT EXISTS raw.contact_versions (
    phone VARCHAR, external_id VARCHAR, name VARCHAR, email VARCHAR, tags VARCHAR[],
    lists VARCHAR[], attributes JSON, version_hash VARCHAR, valid_from TIMESTAMPTZ,
    valid_to TIMESTAMPTZ, load_id VARCHAR, loaded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.contact_loads (
    load_id VARCHAR, source_file VARCHAR, list_name VARCHAR, as_of TIMESTAMPTZ, rows_read BIGINT,
    new_contacts BIGINT, changed_contacts BIGINT, unchanged_contacts BIGINT,
    duplicate_rows BIGINT, rejected BIGINT, seconds DOUBLE, loaded_at TIMESTAMPTZ
);
-- Contact rows that could not be stored, with the reason in words (numbers masked).
CREATE TABLE IF NOT EXISTS raw.rejected_contacts (
    load_id VARCHAR, source_file VARCHAR, row_number BIGINT, reason VARCHAR, record JSON,
    loaded_at TIMESTAMPTZ
);

-- Conversions (`campaign-analytics conversions load`): a purchase or sign-up by a person, by
-- phone or external id, credited in dbt to the latest campaign that reached them within
-- ATTRIBUTION_WINDOW_DAYS. conversion_key makes loading a file twice count it once.
CREATE TABLE IF NOT EXISTS raw.conversions (
    conversion_key VARCHAR, phone VARCHAR, external_id VARCHAR, amount DECIMAL(18, 4),
    currency VARCHAR, occurred_at TIMESTAMPTZ, load_id VARCHAR, source_file VARCHAR,
    loaded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.conversion_loads (
    load_id VARCHAR, source_file VARCHAR, rows_read BIGINT, loaded BIGINT,
    already_loaded BIGINT, rejected BIGINT, seconds DOUBLE, loaded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.rejected_conversions (
    load_id VARCHAR, source_file VARCHAR, row_number BIGINT, reason VARCHAR, record JSON,
    loaded_at TIMESTAMPTZ
);

-- How each shape of number text becomes E.164 (orchestration/lib/audience/numbers.py): one
-- row per (leading '+', length, leading digits), filled as new numbers arrive; dbt applies it
-- to every recipient number in SQL. And each E.164 prefix's original operator and region
-- (phonenumbers' carrier and geocoder data: numbers can be ported since).
CREATE TABLE IF NOT EXISTS raw.number_shapes (
    region VARCHAR, plus BOOLEAN, n INTEGER, prefix VARCHAR, country_code INTEGER,
    drop_digits INTEGER, reason VARCHAR, one_by_one BOOLEAN, looked_up_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.number_exceptions (
    region VARCHAR, original_text VARCHAR, phone_e164 VARCHAR, reason VARCHAR,
    looked_up_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.number_prefixes (
    phone_prefix VARCHAR, country_code INTEGER, operator VARCHAR, region VARCHAR,
    looked_up_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.number_directory_scans (
    scanned_until TIMESTAMPTZ, scanned_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS raw.number_country_codes (
    country_code VARCHAR, prefix_length INTEGER
);
"""
