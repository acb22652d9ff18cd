-- One row per voice contact: the provider's contact list ("phone number, final status, attempt
-- count, last call duration, and timestamps"), with the outcome in words.
with contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }}
),

error_codes as (
    select * from {{ ref('dim_error_codes') }}
    where channel = 'voice'
)

select
    contacts.provider,
    contacts.campaign_id,
    contacts.contact_number,
    contacts.is_valid_number,
    contacts.final_status,
    contacts.is_connected,
    contacts.is_pending,
    contacts.attempts,
    contacts.connected_attempt_number,
    contacts.last_duration_seconds,
    case when not contacts.is_connected then error_codes.description end as outcome_reason,
    contacts.first_attempt_at,
    contacts.last_attempt_at,
    contacts.loaded_at
from contacts
left join error_codes on contacts.final_status = error_codes.code
