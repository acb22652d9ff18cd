-- One row per conversion loaded: who (a number, or a contact's external id), how much, when.
select
    conversion_key,
    phone as contact_number,
    external_id,
    amount,
    currency,
    occurred_at
from {{ source('raw', 'conversions') }}
