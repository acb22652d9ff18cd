-- One row per message: the classified intermediate table, published as the fact BI tools read.
-- A view, so its history is stored once (in int_sms_messages_classified).
{{ config(materialized='view') }}

select * from {{ ref('int_sms_messages_classified') }}
