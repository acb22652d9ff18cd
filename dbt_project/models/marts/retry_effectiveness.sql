-- One row per voice campaign and attempt number: does each retry still pay? (seed 001) A retry
-- whose connect rate is below the thresholds file's voice_retry_connect_rate_low row (seed
-- health_thresholds, 10%) gets advice written against the campaign's own retry settings.
with attempts as (
    select * from {{ ref('int_voice_retry_attempts') }}
),

campaigns as (
    select * from {{ ref('stg_exotel__voice_campaigns') }}
),

rule as (
    select threshold as min_connect_rate from {{ ref('health_thresholds') }}
    where alert_rule = 'voice_retry_connect_rate_low'
),

cumulative as (
    select
        *,
        sum(contacts_connected) over (
            partition by provider, campaign_id order by attempt_number
            rows between unbounded preceding and current row
        ) as cumulative_contacts_connected
    from attempts
),

rated as (
    select
        cumulative.*,
        {{ safe_divide('contacts_connected', 'contacts_attempted') }} as connect_rate,
        campaigns.number_of_retries,
        campaigns.retry_interval_mins,
        rule.min_connect_rate
    from cumulative
    left join campaigns
        on cumulative.provider = campaigns.provider
        and cumulative.campaign_id = campaigns.campaign_id
    cross join rule
)

select
    provider,
    campaign_id,
    attempt_number,
    contacts_attempted,
    contacts_connected,
    connect_rate,
    cumulative_contacts_connected::bigint as cumulative_contacts_connected,
    campaign_contacts,
    {{ safe_divide('cumulative_contacts_connected', 'campaign_contacts') }}
        as cumulative_connect_rate,
    coalesce(connect_rate >= min_connect_rate, false) as is_cost_effective,
    case
        when attempt_number > 1 and not coalesce(
            connect_rate >= min_connect_rate, false
        )
            then 'Retry ' || (attempt_number - 1) || ' connected '
            || printf('%.1f', coalesce(connect_rate, 0) * 100)
            || '% of the contacts it called, below '
            || printf('%g', min_connect_rate * 100)
            || '%: reduce number_of_retries from '
            || coalesce(number_of_retries::varchar, '?') || ' to ' || (attempt_number - 2)
            || ', or increase interval_mins from '
            || coalesce(retry_interval_mins::varchar, '?') || ' to space retries further apart.'
    end as retry_advice
from rated
