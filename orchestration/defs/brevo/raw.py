"""Brevo's raw tables (a provider brings its tables with it; the warehouse resource, which
registers the providers, creates them with the shared ones).

Append-only, like Exotel's: each campaign version the list showed changed, each recipients file
row of each export, each transactional event once, each day's transactional counts, and one row
per campaign pull in the ledger (complete or not, and why).
"""

BREVO_RAW_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.brevo_sms_campaigns (
    campaign_id VARCHAR, name VARCHAR, status VARCHAR, sender VARCHAR,
    scheduled_at TIMESTAMPTZ, created_at TIMESTAMPTZ, modified_at TIMESTAMPTZ,
    list_ids VARCHAR[], stats_sent BIGINT, stats_delivered BIGINT, stats_processing BIGINT,
    stats_soft_bounces BIGINT, stats_hard_bounces BIGINT, stats_unsubscriptions BIGINT,
    stats_answered BIGINT, record_json JSON, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.brevo_recipients (
    campaign_id VARCHAR, process_id BIGINT, contact_id VARCHAR, sms VARCHAR, email VARCHAR,
    event VARCHAR, event_at TIMESTAMPTZ, reason VARCHAR, reply VARCHAR, record_json JSON,
    run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.brevo_campaign_pulls (
    campaign_id VARCHAR, run_id VARCHAR, modified_at TIMESTAMPTZ, campaign_status VARCHAR,
    stats JSON, process_id BIGINT, outcome VARCHAR, detail VARCHAR, recipients BIGINT,
    rejected BIGINT, is_final BOOLEAN, pulled_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.brevo_transactional_events (
    message_id VARCHAR, phone_number VARCHAR, event VARCHAR, event_at TIMESTAMPTZ,
    reason VARCHAR, reply VARCHAR, tag VARCHAR, record_json JSON, run_id VARCHAR,
    loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.brevo_transactional_days (
    day DATE, counts JSON, events BIGINT, run_id VARCHAR, loaded_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.brevo_rejected (
    entity VARCHAR, campaign_id VARCHAR, reason VARCHAR, record_json JSON, run_id VARCHAR,
    loaded_at TIMESTAMPTZ
);
"""
