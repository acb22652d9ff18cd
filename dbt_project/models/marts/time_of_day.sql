-- One row per channel, campaign, ISO day of week and local hour (seed 000's send-time table):
-- SMS by submission time (rejected ones by their last status), voice by attempt start.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
),

attempts as (
    select * from {{ ref('int_call_attempts_classified') }}
),

sms as (
    select
        provider,
        'sms' as channel,
        campaign_id,
        coalesce(submitted_at_local, {{ to_local('last_status_at') }}) as local_time,
        is_submitted as submitted,
        is_delivered as succeeded,
        delivery_latency_seconds as latency_seconds
    from messages
),

voice as (
    select
        provider,
        'voice' as channel,
        campaign_id,
        started_at_local as local_time,
        true as submitted,
        is_connected as succeeded,
        null::bigint as latency_seconds
    from attempts
),

events as (
    select * from sms
    union all
    select * from voice
),

hourly as (
    select
        provider,
        channel,
        campaign_id,
        isodow(local_time)::integer as day_of_week,
        hour(local_time)::integer as hour_of_day,
        count(*) as volume,
        count(*) filter (where submitted) as submitted,
        count(*) filter (where succeeded) as succeeded,
        sum(latency_seconds) as latency_seconds_sum,
        count(latency_seconds) as latency_samples,
        -- Receipts arrive up to 72 hours late, so a handful of late ones drag the mean far from
        -- the typical message: the median and p90 say what a sender can expect.
        quantile_cont(latency_seconds, 0.5) as p50_latency_seconds,
        quantile_cont(latency_seconds, 0.9) as p90_latency_seconds
    from events
    group by all
)

select
    provider,
    channel,
    campaign_id,
    day_of_week,
    hour_of_day,
    volume,
    submitted,
    succeeded,
    {{ safe_divide('succeeded', 'submitted') }} as success_rate,
    latency_seconds_sum::bigint as latency_seconds_sum,
    latency_samples,
    {{ safe_divide('latency_seconds_sum', 'latency_samples') }} as avg_latency_seconds,
    p50_latency_seconds::double as p50_latency_seconds,
    p90_latency_seconds::double as p90_latency_seconds
from hourly
