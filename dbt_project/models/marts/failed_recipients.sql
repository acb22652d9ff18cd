-- One row per channel, campaign and recipient that failed: the list a campaign manager exports
-- to follow up (seed 002), with a readable fail reason.
-- Incremental by campaign: the pre-hook deletes the rows of every campaign whose facts changed
-- and the select appends them anew. (dbt's delete+insert would keep the old rows of a campaign
-- that has no failed recipient left, e.g. when its last busy contact connects on a retry.)
{% set changed_campaigns %}
    {{ only_changed_campaigns('campaign_id',
                              [ref('int_sms_messages_classified'), ref('int_voice_contacts_summarised')]) }}
{% endset %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where "
             "{{ only_changed_campaigns('campaign_id', [ref('int_sms_messages_classified'), "
             "ref('int_voice_contacts_summarised')]) }}{% endif %}",
) }}

with messages as (
    select * from {{ ref('int_sms_messages_classified') }} as messages
    where {{ changed_campaigns }}
),

contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }} as contacts
    where {{ changed_campaigns }}
),

error_codes as (
    select * from {{ ref('dim_error_codes') }}
),

-- Only recipients with a failed or rejected message can end up on the list: windowing just
-- their messages, not every message, keeps this mart cheap as history grows.
failing_recipients as (
    select distinct provider, campaign_id, recipient_number
    from messages
    where is_failed or is_rejected
),

latest_message as (
    select
        provider,
        campaign_id,
        recipient_number,
        count(*) over (partition by provider, campaign_id, recipient_number) as attempts,
        status,
        is_failed,
        is_rejected,
        error_code,
        detailed_status,
        fail_reason,
        error_category,
        bounce_type,
        last_status_at,
        max(loaded_at) over (
            partition by provider, campaign_id, recipient_number
        ) as loaded_at
    from messages
    semi join failing_recipients using (provider, campaign_id, recipient_number)
    qualify row_number() over (
        partition by provider, campaign_id, recipient_number
        order by last_status_at desc, sms_sid desc
    ) = 1
),

sms as (
    select
        latest_message.provider,
        'sms' as channel,
        latest_message.campaign_id,
        latest_message.recipient_number,
        latest_message.status as final_status,
        latest_message.error_code,
        latest_message.error_category,
        latest_message.fail_reason,
        latest_message.bounce_type,
        latest_message.attempts,
        latest_message.last_status_at as last_attempt_at,
        latest_message.loaded_at
    from latest_message
    where latest_message.is_failed or latest_message.is_rejected
),

voice as (
    select
        contacts.provider,
        'voice' as channel,
        contacts.campaign_id,
        contacts.contact_number as recipient_number,
        contacts.final_status,
        contacts.final_status as error_code,
        coalesce(error_codes.error_category, 'unknown') as error_category,
        coalesce(error_codes.description, 'Call ' || contacts.final_status) as fail_reason,
        error_codes.bounce_type,
        contacts.attempts,
        contacts.last_attempt_at,
        contacts.loaded_at
    from contacts
    left join error_codes
        on contacts.final_status = error_codes.code and error_codes.channel = 'voice'
    where not contacts.is_connected and not contacts.is_pending
)

select * from sms
union all
select * from voice
