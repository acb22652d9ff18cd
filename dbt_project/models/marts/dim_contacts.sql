-- One row per version of a contact (campaign-analytics contacts load): its identifiers, lists,
-- tags and custom attributes from valid_from until valid_to, with its number's original
-- operator and region. is_current marks the version in force now. Open bounds are NULL.
with versions as (
    select * from {{ ref('stg_audience__contact_versions') }}
)

select
    versions.contact_number,
    versions.external_id,
    versions.contact_name,
    versions.email,
    versions.lists,
    versions.tags,
    versions.attributes,
    coalesce(prefixes.original_operator, 'unknown') as original_operator,
    coalesce(prefixes.region, 'unknown') as region,
    -- Open bounds as NULL: pandas, BI tools and Spark cannot read DuckDB's infinite times.
    case when not isinf(versions.valid_from) then versions.valid_from end as valid_from,
    case when not versions.is_current then versions.valid_to end as valid_to,
    versions.is_current
from versions
{{ number_prefix_joins('versions.contact_number', 'prefixes') }}
