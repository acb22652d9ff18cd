{#- Stored status callbacks: which are usable, which are new to a model. -#}

{#- The stored callbacks of some kinds that were answered 200 (rejects are in
    raw.rejected_records). A plain filter, so a filter on loaded_at reaches the raw scan; the
    provider's repeats (same callback_key) are removed where callbacks are stored once
    (new_callbacks). -#}
{% macro usable_callbacks(callbacks, kinds) -%}
    select * from {{ callbacks }}
    where kind in (
        {%- for kind in kinds -%}'{{ kind }}'{{ ", " if not loop.last }}{%- endfor -%}
    ) and reject_reason is null
{%- endmacro %}

{#- For an incremental model keyed by callback_key: the callbacks of `staged` loaded since the
    model's newest row, each once, and none it already holds. The provider retries a callback
    that got no 200 within 5 s, so the same one can be stored twice; it counts once. Reads only
    the new rows and the model's key column, so a refresh costs the new callbacks, not all of
    history. -#}
{% macro new_callbacks(staged) -%}
    select arrived.*
    from {{ staged }} as arrived
    {% if is_incremental() -%}
        where arrived.loaded_at > (
            select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }}
        )
        and not exists (
            select 1 from {{ this }} as stored where stored.callback_key = arrived.callback_key
        )
    {%- endif %}
    qualify row_number() over (
        partition by arrived.callback_key order by arrived.loaded_at, arrived.line_no
    ) = 1
{%- endmacro %}
