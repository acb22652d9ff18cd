{{ config(materialized='table') }}
-- Seed 003's Replied and Unsubscribed per SMS campaign, per provider. Exotel's: a reply counts for
-- the latest campaign message sent to its number in the REPLY_WINDOW_DAYS before it (default 7); a
-- reply whose first word is an unsubscribe keyword (STOP, UNSUBSCRIBE and UNSUBSCRIBE_KEYWORDS)
-- also counts as unsubscribed. Numbers are compared by their digits (+91 98... and 9198... are one
-- number). Rebuilt whole: replies are few, and with none the join reads no messages.
with replies as (
    select
        *,
        regexp_replace(sender_number, '[^0-9]', '', 'g') as sender_digits
    from {{ ref('stg_callbacks__inbound_sms') }}
    -- the provider's repeats count once
    qualify row_number() over (partition by callback_key order by loaded_at, line_no) = 1
),

messages as (
    select
        campaign_id,
        recipient_number,
        coalesce(submitted_at, last_status_at) as sent_at
    from {{ ref('int_sms_messages_classified') }}
    -- an inbound SMS reached Exotel: it answers one of Exotel's messages
    where provider = 'exotel' and not is_rejected
),

attributed as (
    select
        replies.callback_key,
        replies.sender_digits,
        replies.first_word in (
            {%- for word in var("unsubscribe_keywords") -%}
                '{{ word | upper | replace("'", "") }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        ) as is_unsubscribe,
        messages.campaign_id
    from replies
    inner join messages
        on replies.sender_digits = regexp_replace(messages.recipient_number, '[^0-9]', '', 'g')
        and replies.received_at >= messages.sent_at
        and replies.received_at < messages.sent_at + to_days({{ var("reply_window_days") }})
    qualify row_number() over (
        partition by replies.callback_key order by messages.sent_at desc
    ) = 1
)

select
    'exotel' as provider,
    campaign_id,
    count(distinct sender_digits) as recipients_replied,
    count(distinct sender_digits) filter (where is_unsubscribe) as recipients_unsubscribed
from attributed
group by campaign_id
union all
-- A provider that reports replies and unsubscriptions itself (Brevo's events): its messages say.
select
    provider,
    campaign_id,
    count(distinct recipient_number) filter (where is_replied) as recipients_replied,
    count(distinct recipient_number) filter (where is_unsubscribed) as recipients_unsubscribed
from {{ ref('int_sms_messages_classified') }}
where provider <> 'exotel'
group by provider, campaign_id
