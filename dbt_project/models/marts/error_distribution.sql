-- One row per channel, campaign, error category and code (seed 000's error table). SMS rows
-- count failed, expired and rejected messages; voice rows count unreached contacts by final status.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
),

contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }}
),

error_codes as (
    select * from {{ ref('dim_error_codes') }}
),

sms as (
    select
        provider,
        'sms' as channel,
        campaign_id,
        error_category,
        coalesce(error_code, detailed_status, 'UNKNOWN') as error_code,
        count(*) as failures
    from messages
    where is_failed or is_rejected
    group by all
),

voice as (
    select
        contacts.provider,
        'voice' as channel,
        contacts.campaign_id,
        coalesce(error_codes.error_category, 'unknown') as error_category,
        contacts.final_status as error_code,
        count(*) as failures
    from contacts
    left join error_codes
        on contacts.final_status = error_codes.code and error_codes.channel = 'voice'
    where not contacts.is_connected and not contacts.is_pending
    group by all
),

failures as (
    select * from sms
    union all
    select * from voice
),

-- When a code is not in the seed, fall back to the category's advice.
category_actions as (
    select error_category, any_value(recommended_action) as recommended_action
    from error_codes
    -- Exotel's advice per category (a Brevo reason's is worded for its own case)
    where code_type <> 'bounce_reason'
    group by error_category
)

select
    failures.provider,
    failures.channel,
    failures.campaign_id,
    failures.error_category,
    failures.error_code,
    failures.failures,
    failures.failures / sum(failures.failures) over (
        partition by failures.provider, failures.channel, failures.campaign_id
    ) as share_of_failures,
    coalesce(error_codes.recommended_action, category_actions.recommended_action)
        as recommended_action
from failures
left join error_codes
    on failures.error_code = error_codes.code and failures.channel = error_codes.channel
left join category_actions on failures.error_category = category_actions.error_category
