{#- A cost in provider units (SMS credits, voice pulses) in REVENUE_CURRENCY, at the price the
    var `price_var` sets (SMS_CREDIT_PRICE, VOICE_PULSE_PRICE); NULL while no price is set, so a
    revenue is never divided by a count of credits. -#}
{% macro cost_in_currency(cost, price_var) -%}
    {%- set price = var(price_var, none) -%}
    {%- if price is none -%}
        cast(null as decimal(18, 4))
    {%- else -%}
        cast({{ cost }} * {{ price | float }} as decimal(18, 4))
    {%- endif -%}
{%- endmacro %}

{#- An SMS cost in credits in REVENUE_CURRENCY, at the price of the credit of its `provider`
    (a column): SMS_CREDIT_PRICE for Exotel's, BREVO_CREDIT_PRICE for Brevo's; NULL for a
    provider whose price is not set. -#}
{% macro sms_cost_in_currency(cost, provider) -%}
    {%- set prices = {'exotel': var('sms_credit_price', none),
                      'brevo': var('brevo_credit_price', none)} -%}
    {%- set priced = prices.items() | selectattr(1, 'ne', none) | list -%}
    {%- if priced | length == 0 -%}
        cast(null as decimal(18, 4))
    {%- else -%}
    case {{ provider }}
        {%- for name, price in priced %}
        when '{{ name }}' then cast({{ cost }} * {{ price | float }} as decimal(18, 4))
        {%- endfor %}
        else cast(null as decimal(18, 4))
    end
    {%- endif -%}
{%- endmacro %}
