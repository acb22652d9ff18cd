-- One row per campaign, voice and SMS, with whether its numbers are final (no receipt or
-- retry can change them any more: terminal status, ended DLR_FINALIZATION_HOURS ago).
with sms as (
    select * from {{ ref('stg_exotel__sms_campaigns') }}
),

voice as (
    select * from {{ ref('stg_exotel__voice_campaigns') }}
),

pulls as (
    select * from {{ ref('stg_exotel__campaign_pulls') }}
),

campaigns as (
    select
        campaign_id, 'sms' as channel, campaign_name, campaign_status, message_type, sender_id,
        dlt_template_id, null::varchar as caller_id, null::integer as number_of_retries,
        null::integer as retry_interval_mins, null::varchar as retry_mechanism,
        null::varchar as retry_on_status, created_at, started_at, ended_at
    from sms
    union all
    select
        campaign_id, 'voice' as channel, campaign_name, campaign_status,
        null::varchar as message_type, null::varchar as sender_id,
        null::varchar as dlt_template_id, caller_id, number_of_retries, retry_interval_mins,
        retry_mechanism, retry_on_status, created_at, started_at, ended_at
    from voice
)

select
    campaigns.campaign_id,
    campaigns.channel,
    campaigns.campaign_name,
    campaigns.campaign_status,
    campaigns.message_type,
    campaigns.sender_id,
    campaigns.dlt_template_id,
    campaigns.caller_id,
    campaigns.number_of_retries,
    campaigns.retry_interval_mins,
    campaigns.retry_mechanism,
    campaigns.retry_on_status,
    campaigns.created_at,
    campaigns.started_at,
    campaigns.ended_at,
    {{ to_local('campaigns.started_at') }} as started_at_local,
    coalesce(pulls.is_final, false) as is_final,
    coalesce(pulls.is_receipt_window_closed, false) as is_receipt_window_closed,
    pulls.last_pulled_at
from campaigns
left join pulls on campaigns.campaign_id = pulls.campaign_id
