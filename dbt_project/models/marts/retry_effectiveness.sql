-- One row per voice campaign and attempt number: does each retry still pay? (seed 001)
with attempts as (
    select * from {{ ref('int_voice_retry_attempts') }}
),

cumulative as (
    select
        *,
        sum(contacts_connected) over (
            partition by campaign_id order by attempt_number
            rows between unbounded preceding and current row
        ) as cumulative_contacts_connected
    from attempts
)

select
    campaign_id,
    attempt_number,
    contacts_attempted,
    contacts_connected,
    {{ safe_divide('contacts_connected', 'contacts_attempted') }} as connect_rate,
    cumulative_contacts_connected::bigint as cumulative_contacts_connected,
    campaign_contacts,
    {{ safe_divide('cumulative_contacts_connected', 'campaign_contacts') }}
        as cumulative_connect_rate,
    -- Seed 001: a retry whose connect rate is below 10% may not be cost-effective.
    coalesce({{ safe_divide('contacts_connected', 'contacts_attempted') }} >= 0.10, false)
        as is_cost_effective
from cumulative
