-- The latest version of each Brevo SMS campaign, its id as text (Brevo's are integers).
with source as (
    select * from {{ source('raw', 'brevo_sms_campaigns') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by campaign_id order by modified_at desc, loaded_at desc
        ) as version_rank
    from source
)

select
    'brevo' as provider,
    campaign_id,
    name as campaign_name,
    status as campaign_status,
    sender as sender_id,
    created_at,
    scheduled_at as started_at,
    modified_at,
    list_ids,
    stats_sent as reported_sent,
    stats_delivered as reported_delivered,
    stats_processing as reported_processing,
    stats_soft_bounces as reported_soft_bounces,
    stats_hard_bounces as reported_hard_bounces,
    stats_unsubscriptions as reported_unsubscriptions,
    stats_answered as reported_answered,
    loaded_at
from latest
where version_rank = 1
