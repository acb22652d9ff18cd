-- Contacts reached per attempt number (seed 001's retry table), one row per campaign and attempt.
with attempts as (
    select * from {{ ref('int_call_attempts_classified') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id', ref('int_call_attempts_classified')) }}
),

campaign_contacts as (
    select provider, campaign_id, count(distinct contact_number) as campaign_contacts
    from attempts
    group by provider, campaign_id
)

select
    attempts.provider,
    attempts.campaign_id,
    attempts.attempt_number,
    count(distinct attempts.contact_number) as contacts_attempted,
    count(distinct attempts.contact_number) filter (where attempts.is_connected)
        as contacts_connected,
    any_value(campaign_contacts.campaign_contacts) as campaign_contacts,
    max(attempts.loaded_at) as loaded_at
from attempts
inner join campaign_contacts
    on attempts.provider = campaign_contacts.provider
    and attempts.campaign_id = campaign_contacts.campaign_id
group by attempts.provider, attempts.campaign_id, attempts.attempt_number
