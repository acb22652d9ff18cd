-- One row per channel, campaign and local clock hour: the hour's success rate (SMS delivery, voice
-- first-attempt connect) beside the account's rate at the same hour of day over the previous 7 days
-- (the same provider's), and how far below it the hour fell: the drop detector (alert rules
-- sms_delivery_rate_drop, voice_connect_rate_drop). An hour is judged only when it and its baseline
-- each have alert_min_volume outcomes: a small hour is noise.
with hours as (
    select * from {{ ref('int_hourly_outcomes') }}
),

account_hours as (
    select
        provider,
        channel,
        hour_started_at_local::date as local_date,
        hour(hour_started_at_local) as hour_of_day,
        sum(outcomes) as outcomes,
        sum(succeeded) as succeeded
    from hours
    group by all
),

baselines as (
    select
        hours.provider,
        hours.channel,
        hours.campaign_id,
        hours.hour_started_at_local,
        sum(account_hours.outcomes) as baseline_outcomes,
        sum(account_hours.succeeded) as baseline_succeeded
    from hours
    inner join account_hours
        on hours.provider = account_hours.provider
        and hours.channel = account_hours.channel
        and hour(hours.hour_started_at_local) = account_hours.hour_of_day
        and account_hours.local_date
        between hours.hour_started_at_local::date - 7 and hours.hour_started_at_local::date - 1
    group by all
),

rated as (
    select
        hours.provider,
        hours.channel,
        hours.campaign_id,
        hours.hour_started_at_local,
        hour(hours.hour_started_at_local)::integer as hour_of_day,
        hours.outcomes::bigint as outcomes,
        hours.succeeded::bigint as succeeded,
        hours.pending::bigint as pending,
        {{ safe_divide('hours.succeeded', 'hours.outcomes') }} as success_rate,
        coalesce(baselines.baseline_outcomes, 0)::bigint as baseline_outcomes,
        coalesce(baselines.baseline_succeeded, 0)::bigint as baseline_succeeded,
        {{ safe_divide('baselines.baseline_succeeded', 'baselines.baseline_outcomes') }}
            as baseline_rate
    from hours
    left join baselines
        on hours.provider = baselines.provider
        and hours.channel = baselines.channel
        and hours.campaign_id = baselines.campaign_id
        and hours.hour_started_at_local = baselines.hour_started_at_local
)

select
    *,
    case
        when outcomes >= {{ var('alert_min_volume') }}
            and baseline_outcomes >= {{ var('alert_min_volume') }}
            and baseline_rate > 0
            then 1 - success_rate / baseline_rate
    end as relative_drop
from rated
