with source as (
    select * from {{ source('raw', 'voice_campaigns') }}
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
    caller_id,
    number_of_retries,
    retry_interval_mins,
    retry_mechanism,
    retry_on_status,
    stats_created as reported_created,
    stats_completed as reported_completed,
    stats_failed as reported_failed,
    stats_pending as reported_pending,
    stats_in_progress as reported_in_progress,
    stats_busy as reported_busy,
    stats_no_answer as reported_no_answer,
    loaded_at
from latest
