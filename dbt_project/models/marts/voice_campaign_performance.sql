-- One row per voice campaign: seed 001's metrics, with the counts behind every rate.
with counts as (
    select * from {{ ref('int_voice_campaign_counts') }}
),

campaigns as (
    select * from {{ ref('stg_exotel__voice_campaigns') }}
),

revenue as (
    select * from {{ ref('int_campaign_revenue') }}
),

-- The drop detector: the campaign's worst hour of first attempts against the account's usual
-- connect rate at that hour.
hour_drops as (
    select
        provider,
        campaign_id,
        max(relative_drop) as connect_rate_hour_drop
    from {{ ref('hourly_success_rates') }}
    where channel = 'voice'
    group by provider, campaign_id
),

-- Seed 001: a retry attempt connecting below 10% may not be worth its cost. The weakest retry
-- that called enough contacts to judge.
retries as (
    select
        provider,
        campaign_id,
        min(connect_rate) as weakest_retry_connect_rate
    from {{ ref('retry_effectiveness') }}
    where attempt_number > 1 and contacts_attempted >= {{ var('alert_min_volume') }}
    group by provider, campaign_id
),

rates as (
    select
        campaigns.provider,
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_status,
        campaigns.started_at,
        coalesce(counts.contacts, 0) as contacts,
        coalesce(counts.attempts, 0) as attempts,
        coalesce(counts.contacts_connected, 0) as contacts_connected,
        coalesce(counts.contacts_failed, 0) as contacts_failed,
        coalesce(counts.contacts_call_failed, 0) as contacts_call_failed,
        coalesce(counts.contacts_busy, 0) as contacts_busy,
        coalesce(counts.contacts_no_answer, 0) as contacts_no_answer,
        coalesce(counts.contacts_canceled, 0) as contacts_canceled,
        coalesce(counts.contacts_pending, 0) as contacts_pending,
        {{ safe_divide('counts.contacts_connected', 'counts.contacts') }} as connect_rate,
        {{ safe_divide('counts.contacts_connected',
                       'counts.contacts_connected + counts.contacts_no_answer + counts.contacts_busy') }}
            as answer_rate,
        {{ safe_divide('counts.contacts_failed', 'counts.contacts') }} as failure_rate,
        coalesce(counts.contacts_retried, 0) as contacts_retried,
        coalesce(counts.contacts_connected_on_retry, 0) as contacts_connected_on_retry,
        {{ safe_divide('counts.contacts_connected_on_retry', 'counts.contacts_retried') }}
            as retry_success_rate,
        {{ safe_divide('counts.connected_attempt_number_sum', 'counts.contacts_connected') }}
            as avg_attempts_to_connect,
        coalesce(counts.completed_attempts, 0) as completed_attempts,
        {{ safe_divide('counts.completed_duration_seconds', 'counts.completed_attempts') }}
            as avg_call_duration_seconds,
        coalesce(counts.total_cost, 0)::decimal(18, 6) as total_cost,
        {{ safe_divide('counts.total_cost', 'counts.contacts_connected') }}
            as cost_per_connected_contact,
        campaigns.reported_created,
        campaigns.reported_completed,
        campaigns.reported_failed,
        campaigns.reported_pending,
        campaigns.reported_in_progress,
        campaigns.reported_busy,
        campaigns.reported_no_answer,
        coalesce(
            counts.contacts = campaigns.reported_created
            and counts.contacts_connected = campaigns.reported_completed
            and counts.contacts_failed = campaigns.reported_failed,
            false
        ) as is_reconciled,
        hour_drops.connect_rate_hour_drop,
        retries.weakest_retry_connect_rate,
        coalesce(revenue.conversions, 0) as conversions,
        coalesce(revenue.revenue, 0)::decimal(18, 4) as revenue,
        {{ cost_in_currency('coalesce(counts.total_cost, 0)', 'voice_pulse_price') }}
            as total_cost_in_currency,
        {{ safe_divide('revenue.revenue',
                         cost_in_currency('counts.total_cost', 'voice_pulse_price')) }}
            as revenue_per_cost
    from campaigns
    left join counts
        on campaigns.provider = counts.provider and campaigns.campaign_id = counts.campaign_id
    left join hour_drops
        on campaigns.provider = hour_drops.provider
        and campaigns.campaign_id = hour_drops.campaign_id
    left join revenue
        on campaigns.provider = revenue.provider and campaigns.campaign_id = revenue.campaign_id
    left join retries
        on campaigns.provider = retries.provider and campaigns.campaign_id = retries.campaign_id
),

health as (
    {{ health_status('rates', 'voice',
                     ['connect_rate', 'answer_rate', 'failure_rate', 'retry_success_rate',
                      'weakest_retry_connect_rate'],
                     'contacts > 0') }}
)

select
    rates.*,
    health.health_status,
    health.health_reasons
from rates
inner join health
    on rates.provider = health.provider and rates.campaign_id = health.campaign_id
