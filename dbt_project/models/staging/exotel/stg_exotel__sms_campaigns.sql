with source as (
    select * from {{ source('raw', 'sms_campaigns') }}
),

latest as (
    select *
    from source
    qualify row_number() over (partition by campaign_id order by loaded_at desc) = 1
)

select
    'exotel' as provider,
    campaign_id,
    name as campaign_name,
    status as campaign_status,
    created_at,
    start_time as started_at,
    end_time as ended_at,
    sender_id,
    message_type,
    dlt_template_id,
    stats_total as reported_total,
    stats_submitted as reported_submitted,
    stats_delivered as reported_delivered,
    stats_failed as reported_failed,
    stats_pending as reported_pending,
    stats_rejected as reported_rejected,
    loaded_at
from latest
