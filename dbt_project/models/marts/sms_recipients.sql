-- One row per SMS message: the provider's recipient list (number, final status, detailed status,
-- reason, submitted and delivered times), the reason in words where the message did not arrive.
-- Incremental by campaign, like the facts it repeats: a daily run rewrites the day's campaigns,
-- not a year of messages (bench.run --history).
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='campaign_id', on_schema_change='append_new_columns') }}

with messages as (
    select * from {{ ref('int_sms_messages_classified') }} as messages
    where {{ only_changed_campaigns('messages.campaign_id', ref('int_sms_messages_classified')) }}
)

select
    messages.provider,
    messages.campaign_id,
    messages.sms_sid,
    messages.recipient_number,
    messages.is_valid_number,
    messages.status,
    messages.detailed_status,
    messages.detailed_status_code,
    messages.fail_reason,
    messages.submitted_at,
    messages.delivered_at,
    messages.loaded_at
from messages
