-- Warns when the provider sends an error code or detailed status that dim_error_codes does not
-- map: those messages fall into error_category 'unknown' until the seed learns the code.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_sms_messages_classified'}}}) }}

with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
),

codes as (
    select code from {{ ref('dim_error_codes') }}
)

select distinct messages.error_code, messages.detailed_status
from messages
where (messages.is_failed or messages.is_rejected)
  and coalesce(messages.error_code, '') not in (select code from codes)
  and coalesce(messages.detailed_status, '') not in (select code from codes)
