-- One row per conversion and the campaign it was credited to (int_conversions_attributed).
select * from {{ ref('int_conversions_attributed') }}
