-- One row per channel, campaign and local clock hour: the outcomes of the hour's sends and how
-- many succeeded, the input of the drop detector (mart hourly_success_rates).
-- SMS: messages submitted in the hour whose outcome is known (delivered, failed, expired: the
-- terms of the delivery rate). Those whose receipt is still awaited are counted apart, not as
-- failures, so an hour read intraday is not judged on receipts that have yet to arrive.
-- Voice: first attempts started in the hour. Retries connect less by design (seed 001), so an
-- hour of retries is not a drop.
with messages as (
    select * from {{ ref('int_sms_messages_classified') }} as messages
    where {{ only_changed_campaigns('messages.campaign_id',
                                    ref('int_sms_messages_classified')) }}
),

attempts as (
    select * from {{ ref('int_call_attempts_classified') }} as attempts
    where {{ only_changed_campaigns('attempts.campaign_id',
                                    ref('int_call_attempts_classified')) }}
),

sms as (
    select
        provider,
        'sms' as channel,
        campaign_id,
        date_trunc('hour', submitted_at_local) as hour_started_at_local,
        count(*) filter (where is_submitted and not is_pending) as outcomes,
        count(*) filter (where is_delivered) as succeeded,
        count(*) filter (where is_pending) as pending,
        max(loaded_at) as loaded_at
    from messages
    where submitted_at_local is not null
    group by all
),

voice as (
    select
        provider,
        'voice' as channel,
        campaign_id,
        date_trunc('hour', started_at_local) as hour_started_at_local,
        count(*) as outcomes,
        count(*) filter (where is_connected) as succeeded,
        0 as pending,
        max(loaded_at) as loaded_at
    from attempts
    where attempt_number = 1 and started_at_local is not null
    group by all
)

select * from sms
union all
select * from voice
