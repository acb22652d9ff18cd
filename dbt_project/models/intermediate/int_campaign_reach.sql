{{ config(materialized='view') }}

-- One row per person a campaign reached: an SMS message (its recipient) or a voice contact,
-- with when it reached them and how it ended, in the terms of delivery_rate_trends (volume,
-- submitted, succeeded, failed, rejected). The audience marts (by list and tag, by operator)
-- group these.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
),

contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }}
)

select
    provider,
    'sms' as channel,
    campaign_id,
    recipient_number as number,
    coalesce(submitted_at, last_status_at) as reached_at,
    is_submitted as submitted,
    is_delivered as succeeded,
    is_failed as failed,
    is_rejected as rejected,
    loaded_at
from messages
union all
select
    provider,
    'voice' as channel,
    campaign_id,
    contact_number as number,
    first_attempt_at as reached_at,
    true as submitted,
    is_connected as succeeded,
    -- The provider's failed: not reached, the call failed or was canceled.
    not is_pending and final_status in ('failed', 'canceled') as failed,
    false as rejected,
    loaded_at
from contacts
