-- One row per voice contact (a distinct number within a campaign). Its final status is
-- `completed` if any attempt connected, else its last attempt's status. A contact is pending
-- while its campaign runs and its last outcome will be retried (retry on_status, retries left).
with attempts as (
    select * from {{ ref('int_call_attempts_classified') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', ref('int_call_attempts_classified')) }}
),

campaigns as (
    select * from {{ ref('stg_exotel__voice_campaigns') }}
),

per_contact as (
    select
        provider,
        campaign_id,
        contact_number,
        count(*) as attempts,
        bool_or(is_connected) as is_connected,
        min(attempt_number) filter (where is_connected) as connected_attempt_number,
        arg_max(status, (attempt_number, started_at)) as last_status,
        arg_max(duration_seconds, (attempt_number, started_at)) as last_duration_seconds,
        bool_and(is_valid_number) as is_valid_number,
        min(started_at) as first_attempt_at,
        max(started_at) as last_attempt_at,
        sum(price) as cost,
        max(loaded_at) as loaded_at
    from attempts
    group by provider, campaign_id, contact_number
)

select
    per_contact.provider,
    per_contact.campaign_id,
    per_contact.contact_number,
    per_contact.is_valid_number,
    per_contact.attempts,
    per_contact.is_connected,
    per_contact.connected_attempt_number,
    per_contact.attempts >= 2 as is_retried,
    coalesce(per_contact.connected_attempt_number >= 2, false) as is_connected_on_retry,
    case when per_contact.is_connected then 'completed' else per_contact.last_status end
        as final_status,
    coalesce(
        not per_contact.is_connected
        and campaigns.campaign_status not in {{ terminal_campaign_statuses() }}
        and list_contains(from_json(campaigns.retry_on_status, '["VARCHAR"]'),
                          per_contact.last_status)
        and per_contact.attempts <= campaigns.number_of_retries,
        false
    ) as is_pending,
    per_contact.first_attempt_at,
    per_contact.last_attempt_at,
    per_contact.last_duration_seconds,
    per_contact.cost,
    per_contact.loaded_at
from per_contact
left join campaigns
    on per_contact.provider = campaigns.provider and per_contact.campaign_id = campaigns.campaign_id
