"""Runtime configuration, read once from the environment (and a `.env` file, if present).

`load_settings` builds one `Settings` object; everything else receives that object (resources,
the CLI, dbt through `--vars`), so no setting travels back through `os.environ`. Every value is
validated at start, so a typo fails before any work is done, with a message naming the variable
to fix. The API key and token are held in `Secret`, whose text form is masked, so they cannot leak
through a log line, an exception or Dagster metadata by accident.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

DEFAULT_BASE_URL = "https://api.exotel.com"
DEFAULT_BREVO_BASE_URL = "https://api.brevo.com/v3"  # ../shared/brevo-contract.md
DEFAULT_BREVO_EXPORT_WAIT_SECONDS = 120
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_EXOTEL_FETCH_WORKERS = 1
DEFAULT_PUBLISHED_PATH = "data/published.duckdb"
DEFAULT_CONTACTS_REGION = "IN"
DEFAULT_TIMEZONE = "Asia/Kolkata"
DEFAULT_DLR_FINALIZATION_HOURS = 72
# Receipts arrive up to 72 hours late; a window past 30 days is a typo, not a policy.
MAX_DLR_FINALIZATION_HOURS = 30 * 24
DEFAULT_RATE_LIMIT_PER_MINUTE = 200
# Brevo's documented budget for reads (its "all other endpoints"): requests an hour.
BREVO_REQUESTS_PER_HOUR = 100
DEFAULT_PHONE_NUMBERS = "masked"
DEFAULT_DAILY_RUN_CRON = "0 2 * * *"
DEFAULT_RUN_LOCK_WAIT_SECONDS = 30
DEFAULT_CALLBACK_LANDING_DIR = "data/callbacks"
DEFAULT_SMTP_PORT = 587  # submission, with STARTTLS
DEFAULT_REFRESH_INTERVAL_MINUTES = 15
# Seed 003's Replied: a reply counts for the latest campaign message to that number this recent.
DEFAULT_REPLY_WINDOW_DAYS = 7
DEFAULT_ATTRIBUTION_WINDOW_DAYS = 7
DEFAULT_REVENUE_CURRENCY = "INR"
# `campaign-analytics query`: what one ad-hoc statement may use before it is stopped.
DEFAULT_QUERY_MEMORY_LIMIT = "2GB"
DEFAULT_QUERY_TIMEOUT_SECONDS = 120
# Replies that unsubscribe (seed 003's Unsubscribed), matched as the reply's first word.
DEFAULT_UNSUBSCRIBE_KEYWORDS = ("STOP", "UNSUBSCRIBE")

CREDENTIAL_VARIABLES = ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN")
# Every provider the warehouse speaks, as the `provider` column names it, and as people do.
PROVIDER_NAMES = {"exotel": "Exotel", "brevo": "Brevo"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret:
    """A string that never shows itself in `str`, `repr` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class AlertDelivery:
    """Where alerts are sent: a chat webhook (its URL is its credential) and/or email over SMTP.
    Nothing set: alerts are kept in the warehouse only."""

    webhook_url: Secret = field(default=Secret(""), repr=False)
    smtp_host: str = ""
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_username: str = ""
    smtp_password: Secret = field(default=Secret(""), repr=False)
    smtp_from: str = ""
    email_to: tuple[str, ...] = ()
    smtp_starttls: bool = True
    # A private CA's certificate for the SMTP server (the system's CAs otherwise).
    smtp_ca_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one run."""

    base_url: str
    account_sid: str
    api_key: Secret = field(repr=False)
    api_token: Secret = field(repr=False)
    warehouse_path: Path
    published_path: Path
    account_timezone: str
    dlr_finalization_hours: int
    rate_limit_per_minute: int
    publish_phone_numbers: str = DEFAULT_PHONE_NUMBERS
    daily_run_cron: str = DEFAULT_DAILY_RUN_CRON
    # How long a run waits for another run to release the warehouse before giving up.
    run_lock_wait_seconds: int = DEFAULT_RUN_LOCK_WAIT_SECONDS
    # Callbacks: the receiver's shared secret, where it lands callbacks, how often they are
    # loaded and published, and how replies are read.
    callback_token: Secret = field(default=Secret(""), repr=False)
    callback_landing_dir: Path = Path(DEFAULT_CALLBACK_LANDING_DIR)
    refresh_interval_minutes: int = DEFAULT_REFRESH_INTERVAL_MINUTES
    reply_window_days: int = DEFAULT_REPLY_WINDOW_DAYS
    unsubscribe_keywords: tuple[str, ...] = DEFAULT_UNSUBSCRIBE_KEYWORDS
    alert_delivery: AlertDelivery = field(default_factory=AlertDelivery, repr=False)
    # Numbers written without a country code (a contact list's 98765 43210, the provider's
    # 09876543210) are read as numbers of this region (ISO 3166 code).
    contacts_default_region: str = DEFAULT_CONTACTS_REGION
    # The key of the published copy's recipient_key (lib/audience/lookup.py); unset: a random
    # key kept beside the warehouse.
    recipient_lookup_key: Secret = field(default=Secret(""), repr=False)
    # Conversions: credited to the latest campaign that reached the person within this many
    # days before; the campaign marts' revenue counts this currency (the provider's costs').
    attribution_window_days: int = DEFAULT_ATTRIBUTION_WINDOW_DAYS
    revenue_currency: str = DEFAULT_REVENUE_CURRENCY
    # The price of one SMS credit and one voice pulse (the provider's cost units) in
    # revenue_currency; None: costs stay in provider units and no revenue per cost is given.
    sms_credit_price: float | None = None
    brevo_credit_price: float | None = None
    voice_pulse_price: float | None = None
    query_memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT
    query_timeout_seconds: int = DEFAULT_QUERY_TIMEOUT_SECONDS
    # Brevo, the second provider: its key (a secret like the others) and its API's base URL.
    brevo_api_key: Secret = field(default=Secret(""), repr=False)
    brevo_base_url: str = DEFAULT_BREVO_BASE_URL
    # How long a run waits for one recipients export before leaving it for the next run (each
    # poll is a request out of Brevo's 100 an hour).
    brevo_export_wait_seconds: int = DEFAULT_BREVO_EXPORT_WAIT_SECONDS
    # Where raw records land as Parquet (lib/lake): a folder or an object-store URI; empty:
    # a folder beside the warehouse file, `lake` for warehouse.duckdb (data/lake by default),
    # `<name>-lake` for any other name, so two warehouses in one folder never share a lake.
    lake_path: str = ""
    # Exotel campaigns fetched side by side (sibling connections sharing one rate limit): a
    # fetch waits on the provider, so several overlap their waits; loading stays in order.
    exotel_fetch_workers: int = DEFAULT_EXOTEL_FETCH_WORKERS

    @property
    def lake_root(self) -> str:
        if self.lake_path:
            return self.lake_path
        stem = self.warehouse_path.stem
        return str(self.warehouse_path.parent / ("lake" if stem == "warehouse" else
                                                 f"{stem}-lake"))

    @property
    def reports_dir(self) -> Path:
        """Reports live beside the published copy: data/published.duckdb -> data/reports/."""
        return self.published_path.parent / "reports"

    def missing_credentials(self) -> list[str]:
        values = {"EXOTEL_ACCOUNT_SID": self.account_sid, "EXOTEL_API_KEY": self.api_key,
                  "EXOTEL_API_TOKEN": self.api_token}
        return [name for name in CREDENTIAL_VARIABLES if not values[name]]

    @property
    def exotel_configured(self) -> bool:
        return not self.missing_credentials()

    @property
    def providers(self) -> list[str]:
        """The providers a run reads: those whose credentials are set."""
        return [name for name, configured in (("exotel", self.exotel_configured),
                                              ("brevo", bool(self.brevo_api_key)))
                if configured]

    def require_credentials(self) -> None:
        """Raise ConfigError unless some provider is configured, naming every missing
        variable at once: Exotel's half set is a mistake whatever else is set."""
        missing = self.missing_credentials()
        verb = "is" if len(missing) == 1 else "are"
        if missing and len(missing) < len(CREDENTIAL_VARIABLES):
            raise ConfigError(f"{_names(missing)} {verb} not set (Exotel needs all three): put "
                              "them in the environment or in .env")
        if not self.providers:
            raise ConfigError(f"no provider is configured: {_names(missing)} {verb} not set "
                              "(Exotel), nor BREVO_API_KEY (Brevo); set one provider's in the "
                              "environment or in .env")


def _api_url(name: str, url: str, example: str, credentials_hint: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as {example}, got {url!r}")
    if parsed.username or parsed.password:
        # Credentials in the URL would end up in logs; they belong in the key variables.
        raise ConfigError(f"{name} must not carry credentials: {credentials_hint}")
    return url


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | os.PathLike[str] | None = ".env",
    require_credentials: bool = True,
) -> Settings:
    """Read and validate the settings.

    Values in the process environment win over the `.env` file, so a CI secret or a one-off
    `EXOTEL_BASE_URL=... campaign-analytics sync` overrides what the file says. Without
    `require_credentials` (readers, the Dagster UI loading the code location) missing
    credentials are allowed here and named when the API is first needed.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str, default: str) -> str:
        value = env.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    base_url = _api_url("EXOTEL_BASE_URL", get("EXOTEL_BASE_URL", DEFAULT_BASE_URL),
                        DEFAULT_BASE_URL, "set EXOTEL_API_KEY and EXOTEL_API_TOKEN instead")
    brevo_base_url = _api_url("BREVO_BASE_URL", get("BREVO_BASE_URL", DEFAULT_BREVO_BASE_URL),
                              DEFAULT_BREVO_BASE_URL, "set BREVO_API_KEY instead")

    timezone = get("ACCOUNT_TIMEZONE", DEFAULT_TIMEZONE)
    if timezone not in _duckdb_time_zones():
        # The marts convert times with DuckDB, so a zone Python knows but DuckDB does not
        # (`posixrules`, `localtime`) would fail only at build time.
        raise ConfigError(
            f"ACCOUNT_TIMEZONE must be an IANA time zone such as Asia/Kolkata, got {timezone!r}"
        )

    phone_numbers = get("PUBLISH_PHONE_NUMBERS", DEFAULT_PHONE_NUMBERS).lower()
    if phone_numbers not in ("masked", "full"):
        raise ConfigError(
            f"PUBLISH_PHONE_NUMBERS must be 'masked' or 'full', got {phone_numbers!r}"
        )
    cron = get("DAILY_RUN_CRON", DEFAULT_DAILY_RUN_CRON)
    if len(cron.split()) != 5:
        raise ConfigError(
            f"DAILY_RUN_CRON must be a 5-field cron expression such as '0 2 * * *', got {cron!r}"
        )

    settings = Settings(
        base_url=base_url.rstrip("/"),
        account_sid=get("EXOTEL_ACCOUNT_SID", ""),
        api_key=Secret(get("EXOTEL_API_KEY", "")),
        api_token=Secret(get("EXOTEL_API_TOKEN", "")),
        brevo_api_key=Secret(get("BREVO_API_KEY", "")),
        brevo_base_url=brevo_base_url.rstrip("/"),
        warehouse_path=Path(get("WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)),
        published_path=Path(get("PUBLISHED_PATH", DEFAULT_PUBLISHED_PATH)),
        account_timezone=timezone,
        dlr_finalization_hours=_whole_number(
            "DLR_FINALIZATION_HOURS", get("DLR_FINALIZATION_HOURS", ""),
            DEFAULT_DLR_FINALIZATION_HOURS, low=1, high=MAX_DLR_FINALIZATION_HOURS,
        ),
        rate_limit_per_minute=_whole_number(
            "EXOTEL_RATE_LIMIT_PER_MINUTE", get("EXOTEL_RATE_LIMIT_PER_MINUTE", ""),
            DEFAULT_RATE_LIMIT_PER_MINUTE, low=0,
        ),
        publish_phone_numbers=phone_numbers,
        daily_run_cron=cron,
        run_lock_wait_seconds=_whole_number(
            "RUN_LOCK_WAIT_SECONDS", get("RUN_LOCK_WAIT_SECONDS", ""),
            DEFAULT_RUN_LOCK_WAIT_SECONDS, low=0, high=24 * 3600,
        ),
        callback_token=Secret(get("CALLBACK_TOKEN", "")),
        callback_landing_dir=Path(get("CALLBACK_LANDING_DIR", DEFAULT_CALLBACK_LANDING_DIR)),
        refresh_interval_minutes=_refresh_minutes(get("REFRESH_INTERVAL_MINUTES", "")),
        reply_window_days=_whole_number(
            "REPLY_WINDOW_DAYS", get("REPLY_WINDOW_DAYS", ""), DEFAULT_REPLY_WINDOW_DAYS,
            low=1, high=90,
        ),
        unsubscribe_keywords=_keywords(get("UNSUBSCRIBE_KEYWORDS", "")),
        alert_delivery=_alert_delivery(get),
        contacts_default_region=_region(get("CONTACTS_DEFAULT_REGION", "")),
        recipient_lookup_key=Secret(get("RECIPIENT_LOOKUP_KEY", "")),
        attribution_window_days=_whole_number(
            "ATTRIBUTION_WINDOW_DAYS", get("ATTRIBUTION_WINDOW_DAYS", ""),
            DEFAULT_ATTRIBUTION_WINDOW_DAYS, low=1, high=90,
        ),
        revenue_currency=_currency(get("REVENUE_CURRENCY", "")),
        sms_credit_price=_price("SMS_CREDIT_PRICE", get("SMS_CREDIT_PRICE", "")),
        voice_pulse_price=_price("VOICE_PULSE_PRICE", get("VOICE_PULSE_PRICE", "")),
        brevo_credit_price=_price("BREVO_CREDIT_PRICE", get("BREVO_CREDIT_PRICE", "")),
        query_memory_limit=_memory(get("QUERY_MEMORY_LIMIT", DEFAULT_QUERY_MEMORY_LIMIT)),
        query_timeout_seconds=_whole_number(
            "QUERY_TIMEOUT_SECONDS", get("QUERY_TIMEOUT_SECONDS", ""),
            DEFAULT_QUERY_TIMEOUT_SECONDS, low=1, high=24 * 3600),
        brevo_export_wait_seconds=_whole_number(
            "BREVO_EXPORT_WAIT_SECONDS", get("BREVO_EXPORT_WAIT_SECONDS", ""),
            DEFAULT_BREVO_EXPORT_WAIT_SECONDS, low=0, high=3600),
        lake_path=get("LAKE_PATH", "").strip(),
        exotel_fetch_workers=_whole_number(
            "EXOTEL_FETCH_WORKERS", get("EXOTEL_FETCH_WORKERS", ""),
            DEFAULT_EXOTEL_FETCH_WORKERS, low=1, high=16),
    )
    check_paths_apart(settings)
    if require_credentials:
        settings.require_credentials()
    return settings


def _currency(text: str) -> str:
    currency = text.strip().upper() or DEFAULT_REVENUE_CURRENCY
    if not (len(currency) == 3 and currency.isalpha()):
        raise ConfigError(f"REVENUE_CURRENCY must be a three-letter currency code such as INR, "
                          f"got {text!r}")
    return currency


def _memory(text: str) -> str:
    """QUERY_MEMORY_LIMIT as DuckDB reads it: a number and a unit (512MB, 2GB)."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text, re.IGNORECASE):
        raise ConfigError(f"QUERY_MEMORY_LIMIT must be an amount such as 2GB or 512MB, "
                          f"got {text!r}")
    return text.replace(" ", "")


def _price(name: str, text: str) -> float | None:
    """A unit price in REVENUE_CURRENCY such as 0.18 (a decimal point, no currency sign)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e9:  # NaN fails this too
        raise ConfigError(f"{name} must be a price in REVENUE_CURRENCY such as 0.18 (a decimal "
                          f"point, no currency sign), got {text!r}")
    return value


def _region(text: str) -> str:
    import phonenumbers  # only settings that read numbers need its metadata

    region = text.strip().upper() or DEFAULT_CONTACTS_REGION
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"CONTACTS_DEFAULT_REGION must be a two-letter region code such as "
                          f"IN or GB, got {text!r}")
    return region


def check_paths_apart(settings: Settings) -> None:
    """Refuse settings under which one output would overwrite another.

    Publishing replaces PUBLISHED_PATH (through a `.building` file beside it) and reports are
    written into the folder beside it; if either is the warehouse (also through a symlink or a
    relative path), a run would replace the warehouse and lose raw history and the pull ledger.
    """
    warehouse = settings.warehouse_path.resolve()
    published = settings.published_path.resolve()
    building = published.with_name(f".{published.name}.building")
    if warehouse in (published, building):
        raise ConfigError(
            f"WAREHOUSE_PATH and PUBLISHED_PATH are the same file ({warehouse}): publishing "
            "would replace the warehouse. Give PUBLISHED_PATH a file of its own."
        )
    reports = settings.reports_dir.resolve()
    if warehouse.is_relative_to(reports):
        raise ConfigError(
            f"WAREHOUSE_PATH ({warehouse}) is inside the reports folder beside PUBLISHED_PATH "
            f"({reports}): keep the warehouse out of the folder reports are written to."
        )
    # The loader moves landed files between the landing folder's subfolders, and reports are
    # overwritten by name: neither may hold the warehouse, the published copy or the other.
    landing = settings.callback_landing_dir.resolve()
    for name, path in (("WAREHOUSE_PATH", warehouse), ("PUBLISHED_PATH", published)):
        if path.is_relative_to(landing):
            raise ConfigError(
                f"{name} ({path}) is inside CALLBACK_LANDING_DIR ({landing}): give the "
                "callbacks a folder of their own, such as data/callbacks"
            )
    if landing.is_relative_to(reports) or reports.is_relative_to(landing):
        raise ConfigError(
            f"CALLBACK_LANDING_DIR ({landing}) and the reports folder beside PUBLISHED_PATH "
            f"({reports}) overlap: give the callbacks a folder of their own"
        )


def _alert_delivery(get: Callable[[str, str], str]) -> AlertDelivery:
    """ALERT_WEBHOOK_URL and ALERT_SMTP_* / ALERT_EMAIL_TO, checked so that a typo shows when
    the settings load, not when the first alert fails to go out."""
    webhook = get("ALERT_WEBHOOK_URL", "")
    if webhook:
        url = urlparse(webhook)
        local = is_loopback(url.hostname or "")
        if not url.netloc or url.scheme not in (("http", "https") if local else ("https",)):
            # The URL itself is the credential: it is not repeated in the message.
            raise ConfigError("ALERT_WEBHOOK_URL must be an https:// URL (the webhook address "
                              "Slack or Teams gives)")
    host = get("ALERT_SMTP_HOST", "")
    sender = get("ALERT_SMTP_FROM", "")
    recipients = tuple(a.strip() for a in get("ALERT_EMAIL_TO", "").split(",") if a.strip())
    if host and (not sender or not recipients):
        raise ConfigError("ALERT_SMTP_HOST is set: set ALERT_SMTP_FROM and ALERT_EMAIL_TO "
                          "(comma-separated addresses) too")
    for address in (sender, *recipients) if host else ():
        if "@" not in address or any(c.isspace() for c in address):
            raise ConfigError(f"{address!r} in ALERT_SMTP_FROM / ALERT_EMAIL_TO is not an "
                              "email address")
    starttls = get("ALERT_SMTP_STARTTLS", "true").lower()
    if starttls not in ("true", "false"):
        raise ConfigError(f"ALERT_SMTP_STARTTLS must be true or false, got {starttls!r}")
    if host and starttls == "false" and get("ALERT_SMTP_USERNAME", "") and not is_loopback(host):
        raise ConfigError("ALERT_SMTP_STARTTLS=false would send the SMTP login unencrypted to "
                          f"{host}: allowed only for a server on this machine (127.0.0.1); "
                          "set ALERT_SMTP_STARTTLS=true")
    ca_file = get("ALERT_SMTP_CA_FILE", "")
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"ALERT_SMTP_CA_FILE {ca_file!r} is not a file")
    return AlertDelivery(
        webhook_url=Secret(webhook), smtp_host=host,
        smtp_port=_whole_number("ALERT_SMTP_PORT", get("ALERT_SMTP_PORT", ""),
                                DEFAULT_SMTP_PORT, low=1, high=65535),
        smtp_username=get("ALERT_SMTP_USERNAME", ""),
        smtp_password=Secret(get("ALERT_SMTP_PASSWORD", "")), smtp_from=sender,
        email_to=recipients, smtp_starttls=starttls == "true",
        smtp_ca_file=Path(ca_file) if ca_file else None)


def is_loopback(host: str) -> bool:
    """An address on this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refresh_minutes(raw: str) -> int:
    """REFRESH_INTERVAL_MINUTES as a cron schedule can keep it: under an hour, or whole hours
    that divide a day (90 would silently become hourly)."""
    minutes = _whole_number("REFRESH_INTERVAL_MINUTES", raw, DEFAULT_REFRESH_INTERVAL_MINUTES,
                            low=1, high=24 * 60)
    if minutes >= 60 and (minutes % 60 or (24 * 60) % minutes):
        raise ConfigError("REFRESH_INTERVAL_MINUTES must be under 60, or whole hours that divide "
                          f"a day (60, 120, 180, 240, 360, 480, 720, 1440), got {minutes}")
    return minutes


def _keywords(raw: str) -> tuple[str, ...]:
    """UNSUBSCRIBE_KEYWORDS adds to the defaults (STOP, UNSUBSCRIBE): comma-separated words."""
    extra = [word.strip().upper() for word in raw.split(",") if word.strip()]
    for word in extra:
        if not word.isalnum():
            raise ConfigError(
                f"UNSUBSCRIBE_KEYWORDS must be words separated by commas, got {word!r}")
    return tuple(dict.fromkeys([*DEFAULT_UNSUBSCRIBE_KEYWORDS, *extra]))


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _whole_number(name: str, raw: str, default: int, *, low: int, high: int | None = None
                  ) -> int:
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{name} must be {bound}, got {value}")
    return value


@cache
def _duckdb_time_zones() -> frozenset[str]:
    import duckdb

    with duckdb.connect() as con:
        return frozenset(name for (name,) in con.execute(
            "SELECT name FROM pg_timezone_names()").fetchall())
