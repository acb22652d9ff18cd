-- A number's lookup prefix (E.164 digits without '+', as long as its country's carrier and
-- geocoder data go), with the original operator and region found for it. Join a number with
-- the macro number_prefix().
select
    phone_prefix,
    country_code,
    coalesce(operator, 'unknown') as original_operator,
    coalesce(region, 'unknown') as region
from {{ source('raw', 'number_prefixes') }}
