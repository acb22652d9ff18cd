-- One row per call attempt: the classified intermediate table, published as the fact BI tools read.
-- A view, so its history is stored once (in int_call_attempts_classified).
{{ config(materialized='view') }}

select * from {{ ref('int_call_attempts_classified') }}
