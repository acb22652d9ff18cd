"""Delivering an alert to people: a chat webhook (Slack, Microsoft Teams) and email over SMTP.

A notification that cannot be sent never fails a run: each channel is tried a few times with
backoff, and the outcome (sent, or the reason it was not) is returned for the caller to record
and retry on the next run. Secrets stay out of every outcome and log line: a chat webhook's URL
is its credential (Slack's and Teams' carry a token in the path), so it is never printed, and
the SMTP password is only ever handed to the server after STARTTLS.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from orchestration.lib.cells import TERMINAL_CONTROLS
from orchestration.lib.settings import AlertDelivery, is_loopback

log = logging.getLogger("campaign_analytics.alerts")

# Text from data (a campaign's name) in a mail header or a chat message: never a new header
# line, never markup. Slack and Teams read `<...>` as links and mentions (`<!channel>`) and
# `&` as an entity (Slack's own escaping: &amp; &lt; &gt;); a bare @here/@channel is broken
# with a zero-width space so no one is paged by a name.
MENTION = re.compile(r"@(?=(here|channel|everyone)\b)", re.IGNORECASE)


def header_text(text: str) -> str:
    """`text` for a mail header: control characters (CR, LF) as single spaces."""
    return TERMINAL_CONTROLS.sub(" ", text).strip()


def chat_text(text: str) -> str:
    """`text` from data as plain text in a Slack or Teams message."""
    escaped = (TERMINAL_CONTROLS.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;")
               .replace(">", "&gt;"))
    return MENTION.sub("@\u200b", escaped)


# A chat service that answers neither 2xx nor one of these within the attempts is given up on
# for this run; 4xx other than 408/429 means the request itself is wrong (a revoked webhook).
RETRYABLE_HTTP = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Alert:
    """One alert as people are told of it: it fired, or it resolved."""

    rule: str
    severity: str  # "warn" | "error"
    state: str  # "fired" | "escalated" (a warning became an error) | "resolved"
    message: str  # the finding in words: "DLT rejections 20.0% are at or above 5%"
    advice: str  # the seeds' fix
    at: dt.datetime
    campaign_id: str | None = None
    campaign_name: str | None = None
    measured: float | None = None
    threshold: float | None = None

    @property
    def headline(self) -> str:
        what = {"resolved": "Resolved", "escalated": f"{self.severity.upper()}, was WARN"
                }.get(self.state, self.severity.upper())
        where = f" in {self.campaign_name or self.campaign_id}" if self.campaign_id else ""
        return f"[{what}] {self.rule}{where}: {self.message}"


@dataclass(frozen=True)
class Delivery:
    """What happened to one notification on one channel."""

    channel: str  # "webhook" | "email"
    sent: bool
    attempts: int
    error: str | None = None


def webhook_body(alert: Alert) -> dict[str, Any]:
    """A body Slack's and Teams' incoming webhooks both accept (`text`, in Markdown), with the
    alert's fields beside it for anything that reads JSON."""
    lines = [f"*{chat_text(alert.headline)}*"]
    if alert.state != "resolved" and alert.advice:
        lines.append(f"What to do: {chat_text(alert.advice)}")
    fields = asdict(alert)
    fields["at"] = alert.at.isoformat()
    return {"text": "\n".join(lines), "alert": fields}


def email_body(alert: Alert, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = header_text(alert.headline)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    figures = []
    if alert.measured is not None:
        figures.append(f"Measured: {alert.measured:.1%}")
    if alert.threshold is not None:
        figures.append(f"Threshold: {alert.threshold:.1%}")
    body = [header_text(alert.message), *figures]  # names from data stay on their line
    if alert.campaign_id:
        body.append(f"Campaign: {header_text(alert.campaign_name or '')} "
                    f"({alert.campaign_id})".strip())
    if alert.state != "resolved" and alert.advice:
        body += ["", f"What to do: {alert.advice}"]
    body += ["", f"Rule {alert.rule}, severity {alert.severity}, {alert.state} at "
             f"{alert.at.isoformat(timespec='seconds')}."]
    message.set_content("\n".join(body))
    return message


def _backoff(attempt: int, base: float) -> float:
    return base * 2 ** attempt


def send_webhook(delivery: AlertDelivery, alert: Alert, *, attempts: int = 4,
                 base_delay: float = 0.5, timeout: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST the alert to ALERT_WEBHOOK_URL, retrying what may pass on a second try."""
    url = delivery.webhook_url.reveal()
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            answer = httpx.post(url, json=webhook_body(alert), timeout=timeout)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}"  # never str(exc): it can carry the URL
        else:
            if 200 <= answer.status_code < 300:
                return Delivery("webhook", True, attempt)
            error = f"HTTP {answer.status_code}"
            if answer.status_code not in RETRYABLE_HTTP:
                break
        if attempt < attempts:
            sleep(_backoff(attempt - 1, base_delay))
    log.warning("alert %s not sent to the webhook after %d attempt(s): %s", alert.rule,
                attempt, error)
    return Delivery("webhook", False, attempt, error)


def send_email(delivery: AlertDelivery, alert: Alert, *, attempts: int = 3,
               base_delay: float = 1.0, timeout: float = 10.0,
               sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send the alert to ALERT_EMAIL_TO over SMTP: STARTTLS first (unless switched off), then
    the login, so the password never crosses the network in the clear."""
    if delivery.smtp_username and not delivery.smtp_starttls and not is_loopback(
            delivery.smtp_host):
        return Delivery("email", False, 0, "refused to send the SMTP login without TLS to a "
                        "host that is not this machine: set ALERT_SMTP_STARTTLS=true")
    try:
        message = email_body(alert, delivery.smtp_from, delivery.email_to)
    except (ValueError, TypeError) as exc:  # a body no mail library can write: recorded
        return Delivery("email", False, 0, f"the message could not be written ({exc})")
    context = ssl.create_default_context(
        cafile=str(delivery.smtp_ca_file) if delivery.smtp_ca_file else None)
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            with smtplib.SMTP(delivery.smtp_host, delivery.smtp_port, timeout=timeout) as smtp:
                smtp.ehlo()
                if delivery.smtp_starttls:
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if delivery.smtp_username:
                    smtp.login(delivery.smtp_username, delivery.smtp_password.reveal())
                smtp.send_message(message)
            return Delivery("email", True, attempt)
        except smtplib.SMTPAuthenticationError as exc:
            error = f"the SMTP server refused the login (code {exc.smtp_code})"
            break  # a wrong password does not get better by retrying
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code}"
            if not 400 <= exc.smtp_code < 500:
                break  # 5xx: permanent (a refused recipient, a policy)
        except (smtplib.SMTPException, OSError) as exc:
            error = type(exc).__name__
        if attempt < attempts:
            sleep(_backoff(attempt - 1, base_delay))
    log.warning("alert %s not emailed after %d attempt(s): %s", alert.rule, attempt, error)
    return Delivery("email", False, attempt, error)
