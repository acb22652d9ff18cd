-- The counts behind every voice campaign rate (one row per campaign).
with attempts as (
    select * from {{ ref('int_call_attempts_classified') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', ref('int_call_attempts_classified')) }}
),

contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }} as contacts
    where contacts.campaign_id in (select distinct attempts.campaign_id from attempts)
),

contact_counts as (
    select
        provider,
        campaign_id,
        count(*) as contacts,
        count(*) filter (where is_connected) as contacts_connected,
        -- The provider's `failed`: contacts not reached after all attempts, whether the call
        -- failed or was canceled (its stats: created = completed + failed + busy + no_answer).
        count(*) filter (where not is_pending and final_status in ('failed', 'canceled'))
            as contacts_failed,
        count(*) filter (where not is_pending and final_status = 'failed')
            as contacts_call_failed,
        count(*) filter (where not is_pending and final_status = 'busy') as contacts_busy,
        count(*) filter (where not is_pending and final_status = 'no-answer')
            as contacts_no_answer,
        count(*) filter (where not is_pending and final_status = 'canceled')
            as contacts_canceled,
        count(*) filter (where is_pending) as contacts_pending,
        count(*) filter (where is_retried) as contacts_retried,
        count(*) filter (where is_connected_on_retry) as contacts_connected_on_retry,
        coalesce(sum(connected_attempt_number), 0) as connected_attempt_number_sum
    from contacts
    group by provider, campaign_id
),

attempt_counts as (
    select
        provider,
        campaign_id,
        count(*) as attempts,
        count(*) filter (where is_connected) as completed_attempts,
        coalesce(sum(duration_seconds) filter (where is_connected), 0)
            as completed_duration_seconds,
        coalesce(sum(price), 0) as total_cost,
        max(loaded_at) as loaded_at
    from attempts
    group by provider, campaign_id
)

select
    contact_counts.*,
    attempt_counts.attempts,
    attempt_counts.completed_attempts,
    attempt_counts.completed_duration_seconds,
    attempt_counts.total_cost,
    attempt_counts.loaded_at
from contact_counts
inner join attempt_counts
    on contact_counts.provider = attempt_counts.provider
    and contact_counts.campaign_id = attempt_counts.campaign_id
