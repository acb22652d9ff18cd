-- One row per channel, local activity date and campaign (seed 000's trend table). SMS counts
-- messages by the day they were submitted (rejected ones by their last status); voice counts
-- contacts by the day of their first attempt.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }}
),

contacts as (
    select * from {{ ref('int_voice_contacts_summarised') }}
),

campaigns as (
    select * from {{ ref('dim_campaigns') }}
),

sms as (
    select
        provider,
        'sms' as channel,
        coalesce(submitted_at_local, {{ to_local('last_status_at') }})::date as activity_date,
        campaign_id,
        count(*) as volume,
        count(*) filter (where is_submitted) as submitted,
        count(*) filter (where is_delivered) as succeeded,
        count(*) filter (where is_failed) as failed,
        count(*) filter (where is_rejected) as rejected
    from messages
    group by all
),

voice as (
    select
        provider,
        'voice' as channel,
        ({{ to_local('first_attempt_at') }})::date as activity_date,
        campaign_id,
        count(*) as volume,
        count(*) as submitted,
        count(*) filter (where is_connected) as succeeded,
        -- The provider's failed: not reached, the call failed or was canceled (busy and no
        -- answer are counted apart in its stats).
        count(*) filter (
            where not is_pending and final_status in ('failed', 'canceled')
        ) as failed,
        0 as rejected
    from contacts
    group by all
),

activity as (
    select * from sms
    union all
    select * from voice
)

select
    activity.provider,
    activity.channel,
    activity.activity_date,
    activity.campaign_id,
    campaigns.campaign_name,
    activity.volume,
    activity.submitted,
    activity.succeeded,
    activity.failed,
    activity.rejected::bigint as rejected,
    {{ safe_divide('activity.succeeded', 'activity.submitted') }} as success_rate,
    {{ safe_divide('activity.succeeded', 'activity.volume') }} as effective_reach,
    -- The provider's trend table divides delivered by total; named for it (= effective_reach).
    {{ safe_divide('activity.succeeded', 'activity.volume') }} as delivered_share_of_total
from activity
left join campaigns
    on activity.provider = campaigns.provider
    and activity.campaign_id = campaigns.campaign_id
