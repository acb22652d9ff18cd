-- One row per version of a contact (campaign-analytics contacts load): its identifiers, lists,
-- tags and custom attributes from valid_from until valid_to, with its number's original
-- operator and region. is_current marks the version in force now.
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
    versions.valid_from,
    versions.valid_to,
    versions.is_current
from versions
{{ number_prefix_joins('versions.contact_number', 'prefixes') }}
