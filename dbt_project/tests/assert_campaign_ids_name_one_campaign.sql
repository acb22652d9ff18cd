-- Warns when two providers use the same campaign id: the marts key campaigns by (provider,
-- campaign_id) and stay right, but `report`, `export` and `recipient` name a campaign by its id
-- alone, so they would show both under one name.
{{ config(severity='warn') }}

select
    campaign_id,
    count(distinct provider) as providers
from {{ ref('dim_campaigns') }}
group by campaign_id
having count(distinct provider) > 1
