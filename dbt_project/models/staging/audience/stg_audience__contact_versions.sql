-- One row per version of a contact: what its lists, tags and identifiers were from valid_from
-- until valid_to (exclusive; NULL for the current version). A contact's first version is valid
-- from the start of time.
select
    phone as contact_number,
    external_id,
    name as contact_name,
    email,
    tags,
    lists,
    attributes,
    valid_from,
    coalesce(valid_to, 'infinity'::timestamptz) as valid_to,
    valid_to is null as is_current,
    loaded_at
from {{ source('raw', 'contact_versions') }}
