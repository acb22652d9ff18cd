-- One row per campaign, voice and SMS, of every provider (keyed by provider and campaign_id),
-- with whether its numbers are final (no receipt or retry can change them any more: terminal
-- status, ended DLR_FINALIZATION_HOURS ago; for Brevo, its export taken after the 72-hour
-- retry window; a transactional day once that window has passed since its last message).
with sms as (
    select * from {{ ref('int_sms_campaigns') }}
),

voice as (
    select * from {{ ref('stg_exotel__voice_campaigns') }}
),

-- Transactional traffic has no pull of its own: its day is final once Brevo's 72 hours of
-- retries have passed since its last message.
transactional_closed as (
    select
        provider,
        campaign_id,
        ended_at < now() - to_hours(72) as is_closed
    from sms
    where traffic_kind = 'transactional'
),

pulls as (
    select
        provider, campaign_id, is_final, is_receipt_window_closed, last_pulled_at
    from {{ ref('stg_exotel__campaign_pulls') }}
    union all
    select
        provider, campaign_id, is_final, is_receipt_window_closed, last_pulled_at
    from {{ ref('stg_brevo__campaign_pulls') }}
),

campaigns as (
    select
        provider, campaign_id, 'sms' as channel, traffic_kind, campaign_name, campaign_status,
        message_type, sender_id, list_ids,
        dlt_template_id, null::varchar as caller_id, null::integer as number_of_retries,
        null::integer as retry_interval_mins, null::varchar as retry_mechanism,
        null::varchar as retry_on_status, created_at, started_at, ended_at
    from sms
    union all
    select
        provider, campaign_id, 'voice' as channel, 'campaign' as traffic_kind, campaign_name,
        campaign_status, null::varchar as message_type, null::varchar as sender_id,
        null::varchar[] as list_ids,
        null::varchar as dlt_template_id, caller_id, number_of_retries, retry_interval_mins,
        retry_mechanism, retry_on_status, created_at, started_at, ended_at
    from voice
)

select
    campaigns.provider,
    campaigns.campaign_id,
    campaigns.channel,
    campaigns.traffic_kind,
    campaigns.campaign_name,
    campaigns.campaign_status,
    campaigns.message_type,
    campaigns.sender_id,
    campaigns.dlt_template_id,
    campaigns.list_ids,
    campaigns.caller_id,
    campaigns.number_of_retries,
    campaigns.retry_interval_mins,
    campaigns.retry_mechanism,
    campaigns.retry_on_status,
    campaigns.created_at,
    campaigns.started_at,
    campaigns.ended_at,
    {{ to_local('campaigns.started_at') }} as started_at_local,
    coalesce(pulls.is_final, transactional_closed.is_closed, false) as is_final,
    coalesce(pulls.is_receipt_window_closed, transactional_closed.is_closed, false)
        as is_receipt_window_closed,
    pulls.last_pulled_at
from campaigns
left join pulls
    on campaigns.provider = pulls.provider and campaigns.campaign_id = pulls.campaign_id
left join transactional_closed
    on campaigns.provider = transactional_closed.provider
    and campaigns.campaign_id = transactional_closed.campaign_id
