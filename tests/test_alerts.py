"""Alert delivery over real sockets: a chat webhook served on 127.0.0.1, and an SMTP server
(aiosmtpd) that requires STARTTLS with a certificate of its own and a login."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from orchestration.lib.alerts.notify import Alert, send_email, send_webhook
from orchestration.lib.settings import AlertDelivery, ConfigError, Secret, load_settings

ALERT = Alert(rule="dlt_rejection_spike", severity="error", state="fired",
              message="DLT rejections 20.0% are at or above 5%",
              advice="Ensure the message body matches the approved template exactly",
              at=dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC), campaign_id="sms_camp_1",
              campaign_name="Festive Sale", measured=0.2, threshold=0.05)
PASSWORD = "smtp-pass-0123456789"  # noqa: S105 - the test server's own
NO_WAIT = {"sleep": lambda seconds: None}


def _webhook(server: ThreadingHTTPServer, secret_path: str = "/services/T0/B0/s3cr3t"
             ) -> AlertDelivery:
    host, port = server.server_address[:2]
    return AlertDelivery(webhook_url=Secret(f"http://{host}:{port}{secret_path}"))


def test_a_webhook_gets_text_slack_and_teams_read_and_the_fields(hook) -> None:
    delivery = send_webhook(_webhook(hook), ALERT, **NO_WAIT)
    assert delivery.sent and delivery.attempts == 1
    [(path, body)] = hook.posts
    assert path == "/services/T0/B0/s3cr3t"
    assert body["text"].startswith("*[ERROR] dlt_rejection_spike in Festive Sale: DLT rejections")
    assert "What to do: Ensure the message body matches" in body["text"]
    assert body["alert"]["campaign_id"] == "sms_camp_1"
    assert (body["alert"]["measured"], body["alert"]["threshold"]) == (0.2, 0.05)


def test_a_webhook_is_retried_on_503_and_given_up_on_a_400_without_raising(hook, caplog) -> None:
    hook.answers = [503, 503]
    retried = send_webhook(_webhook(hook), ALERT, **NO_WAIT)
    assert retried.sent and retried.attempts == 3 and len(hook.posts) == 3
    hook.answers = [400]
    refused = send_webhook(_webhook(hook), ALERT, **NO_WAIT)
    assert (refused.sent, refused.attempts, refused.error) == (False, 1, "HTTP 400")
    assert "s3cr3t" not in caplog.text  # the URL is the credential


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: free for a moment


def test_an_unreachable_webhook_fails_cleanly_and_never_names_its_url(caplog) -> None:
    port = _free_port()  # nothing listens there
    delivery = AlertDelivery(webhook_url=Secret(f"http://127.0.0.1:{port}/hook/s3cr3t"))
    with caplog.at_level(logging.WARNING):
        outcome = send_webhook(delivery, ALERT, **NO_WAIT)
    assert (outcome.channel, outcome.sent, outcome.attempts) == ("webhook", False, 4)
    assert outcome.error == "ConnectError"
    assert "not sent to the webhook after 4 attempt(s)" in caplog.text
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in repr(outcome)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: the client trusts it as its CA file."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 Try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.content.decode()))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"alerts"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Controller, _Inbox, Path]]:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                            require_starttls=True, authenticator=_login, auth_require_tls=True)
    controller.start()
    yield controller, inbox, cert
    controller.stop()


def _email(controller: Controller, cert: Path, password: str = PASSWORD) -> AlertDelivery:
    return AlertDelivery(smtp_host="127.0.0.1", smtp_port=controller.port,
                         smtp_username="alerts", smtp_password=Secret(password),
                         smtp_from="alerts@example.com",
                         email_to=("ops@example.com", "campaigns@example.com"),
                         smtp_ca_file=cert)


def test_an_email_goes_over_starttls_with_a_login_and_says_what_to_do(smtp_server,
                                                                       caplog) -> None:
    controller, inbox, cert = smtp_server
    with caplog.at_level(logging.DEBUG):
        delivery = send_email(_email(controller, cert), ALERT, **NO_WAIT)
    assert delivery.sent and delivery.attempts == 1
    [(sender, recipients, content)] = inbox.messages
    assert sender == "alerts@example.com"
    assert recipients == ["ops@example.com", "campaigns@example.com"]
    assert "Subject: [ERROR] dlt_rejection_spike in Festive Sale: DLT rejections 20.0%" in content
    for line in ("Measured: 20.0%", "Threshold: 5.0%", "Campaign: Festive Sale (sms_camp_1)",
                 "What to do: Ensure the message body matches the approved template exactly"):
        assert line in content
    assert PASSWORD not in caplog.text


def test_email_is_retried_on_a_4xx_and_a_wrong_password_fails_at_once(smtp_server) -> None:
    controller, inbox, cert = smtp_server
    inbox.refuse_next = 1
    retried = send_email(_email(controller, cert), ALERT, **NO_WAIT)
    assert retried.sent and retried.attempts == 2 and len(inbox.messages) == 1
    wrong = send_email(_email(controller, cert, "wrong"), ALERT, **NO_WAIT)
    assert (wrong.sent, wrong.attempts) == (False, 1)
    assert wrong.error.startswith("the SMTP server refused the login")


def test_a_server_whose_certificate_is_not_trusted_gets_no_password(smtp_server) -> None:
    controller, inbox, _ = smtp_server
    untrusted = AlertDelivery(smtp_host="127.0.0.1", smtp_port=controller.port,
                              smtp_username="alerts", smtp_password=Secret(PASSWORD),
                              smtp_from="alerts@example.com", email_to=("ops@example.com",))
    delivery = send_email(untrusted, ALERT, **NO_WAIT)
    assert not delivery.sent and delivery.error == "SSLCertVerificationError"
    assert inbox.messages == []


def test_alert_settings_are_checked_when_they_load(tmp_path: Path) -> None:
    def load(**env: str):
        return load_settings(env, dotenv_path=None, require_credentials=False)

    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_URL must be an https:// URL") as info:
        load(ALERT_WEBHOOK_URL="http://hooks.example.com/services/s3cr3t")
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(ConfigError, match="set ALERT_SMTP_FROM and ALERT_EMAIL_TO"):
        load(ALERT_SMTP_HOST="smtp.example.com")
    with pytest.raises(ConfigError, match="'ops' in ALERT_SMTP_FROM / ALERT_EMAIL_TO"):
        load(ALERT_SMTP_HOST="smtp.example.com", ALERT_SMTP_FROM="a@example.com",
             ALERT_EMAIL_TO="ops")
    settings = load(ALERT_SMTP_HOST="smtp.example.com", ALERT_SMTP_FROM="a@example.com",
                    ALERT_EMAIL_TO="ops@example.com, b@example.com",
                    ALERT_SMTP_PASSWORD=PASSWORD)
    assert settings.alert_delivery.email_to == ("ops@example.com", "b@example.com")
    assert settings.alert_delivery.smtp_port == 587 and settings.alert_delivery.smtp_starttls
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(settings.alert_delivery)


def _cli_ok(*args: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "orchestration.cli", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_dlt_template_problem_raises_one_alert_told_once_until_a_clean_campaign(
        tmp_path: Path, hook, smtp_server) -> None:
    """Seed 004: "Monitor failed statuses -- set up alerts for elevated failure rates, which
    may indicate DLT configuration issues." A campaign with 20% template-mismatch rejections
    raises dlt_rejection_spike once (webhook and email each told once, with the campaign, the
    figure, the threshold and the fix); two more runs keep it open without telling anyone
    again; it resolves (and says so) once a later campaign is clean."""
    import dagster as dg

    from orchestration.defs.alerts.assets import alerts
    from orchestration.defs.resources import resources_for
    from orchestration.lib.published_state import read_alerts
    from orchestration.runner import run_pipeline
    from orchestration.sandbox import AccountConfig, SandboxServer
    from orchestration.sandbox.generator import plan_account
    from tests.ingest_helpers import sandbox_settings

    controller, inbox, cert = smtp_server
    account = AccountConfig(seed=3, voice_campaigns=0, sms_campaigns=3,
                            sms_messages=(2000, 4000), start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                            end=dt.datetime(2026, 1, 7, tzinfo=dt.UTC), dlt_problem_campaigns=(1,))
    plans = plan_account(account)
    troubled_ended = dt.datetime.fromtimestamp(plans[1].end_at + 6 * 3600, dt.UTC)
    assert troubled_ended.timestamp() < plans[2].start_at  # the next one has not started
    clean_ended = dt.datetime.fromtimestamp(plans[2].end_at + 6 * 3600, dt.UTC)
    warehouse = tmp_path / "warehouse.duckdb"
    host, port = hook.server_address[:2]

    def dlt_posts() -> list[dict]:
        return [body["alert"] for _, body in hook.posts
                if body["alert"]["rule"] == "dlt_rejection_spike"]

    def dlt_mails() -> list[str]:
        return [content for _, _, content in inbox.messages if "dlt_rejection_spike" in content]

    with SandboxServer(account, now=troubled_ended) as sandbox:
        settings = sandbox_settings(
            sandbox.url, warehouse, ALERT_WEBHOOK_URL=f"http://{host}:{port}/hooks/s3cr3t",
            ALERT_SMTP_HOST="127.0.0.1", ALERT_SMTP_PORT=str(controller.port),
            ALERT_SMTP_USERNAME="alerts", ALERT_SMTP_PASSWORD=PASSWORD,
            ALERT_SMTP_FROM="alerts@example.com", ALERT_EMAIL_TO="ops@example.com",
            ALERT_SMTP_CA_FILE=str(cert))
        troubled_run = run_pipeline(settings, log_level="WARNING")
        [fired] = dlt_posts()
        assert fired["state"] == "fired" and fired["campaign_id"] == plans[1].campaign_id
        assert fired["measured"] >= 0.18 and fired["threshold"] == 0.05
        assert "approved template" in fired["advice"]
        [mail] = dlt_mails()
        assert plans[1].campaign_id in mail and "Threshold: 5.0%" in mail

        for _ in range(2):  # the rules judged again, nothing new: nobody is told again
            dg.materialize([alerts], resources=resources_for(settings))
        assert len(dlt_posts()) == 1 and len(dlt_mails()) == 1
        [open_alert] = [r for r in read_alerts(settings.published_path, open_only=True)
                        if r[0] == "dlt_rejection_spike"]
        assert open_alert[1] == "error" and open_alert[-1] is None
        # The overview the run wrote opens with it; the campaign's report shows it.
        overview = (settings.reports_dir / "overview.html").read_text()
        assert overview.index('id="alerts"') < overview.index('id="trend"')
        assert "dlt_rejection_spike" in overview and "approved template" in overview
        campaign_html = tmp_path / "troubled.html"
        _cli_ok("report", "--campaign", plans[1].campaign_id, "--published",
                str(settings.published_path), "--out", str(campaign_html))
        assert "dlt_rejection_spike" in campaign_html.read_text()

        sandbox.clock.set(clean_ended)
        clean_run = run_pipeline(settings, log_level="WARNING")

    def dlt_check(result) -> tuple[bool, str]:  # the rule's Dagster asset check
        [check] = [c for c in result.get_asset_check_evaluations()
                   if c.check_name == "dlt_rejection_spike"]
        return check.passed, check.severity.value

    assert dlt_check(troubled_run) == (False, "ERROR")  # the run itself stays successful
    assert dlt_check(clean_run)[0] is True
    assert [p["state"] for p in dlt_posts()] == ["fired", "resolved"]
    assert len(dlt_mails()) == 2 and "Resolved" in dlt_mails()[1]
    assert not [r for r in read_alerts(settings.published_path, open_only=True)
                if r[0] == "dlt_rejection_spike"]
    [resolved] = [r for r in read_alerts(settings.published_path)
                  if r[0] == "dlt_rejection_spike"]
    assert resolved[-1] is not None  # resolved_at
    # ... and as a person asks for it; the overview has no open one left.
    shown = _cli_ok("alerts", "--published", str(settings.published_path))
    line = next(x for x in shown.splitlines() if x.startswith("dlt_rejection_spike"))
    assert plans[1].campaign_id in line and "5%" in line and "error" in line
    overview = (settings.reports_dir / "overview.html").read_text()
    assert "Open alerts (" in overview and "dlt_rejection_spike" not in overview


def test_a_notification_that_cannot_be_sent_waits_for_the_next_run(tmp_path: Path,
                                                                   hook) -> None:
    """A webhook down for a whole run: the alert's state stands, the notification stays queued
    with its reason, and the next run sends it, once."""
    import duckdb

    from orchestration.lib.alerts.engine import Finding, apply, configured_channels, deliver

    delivery = _webhook(hook)
    finding = Finding("dlt_rejection_spike", "sms", "error", "sms_camp_1", "Festive Sale", 0.2,
                      0.05, "DLT rejections 20.0% is at or above 5%", "Fix the template")
    first, second = (dt.datetime(2026, 1, 5, h, tzinfo=dt.UTC) for h in (9, 10))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        changes = apply(con, [finding], first, configured_channels(delivery))
        assert [a.state for a in changes.fired] == ["fired"]
        hook.answers = [503] * 4
        [failed] = deliver(con, delivery, first, **NO_WAIT)
        assert (failed.sent, failed.error) == (False, "HTTP 503")
        waiting = con.execute("SELECT channel, attempts, last_error FROM "
                              "alerting.notifications WHERE sent_at IS NULL").fetchall()
        assert waiting == [("webhook", 4, "HTTP 503")]

        held = apply(con, [finding], second, configured_channels(delivery))  # still holds
        assert (held.fired, held.resolved, held.holding) == ([], [], 1)
        [sent] = deliver(con, delivery, second, **NO_WAIT)
        assert sent.sent
        assert con.execute("SELECT count(*) FROM alerting.notifications "
                           "WHERE sent_at IS NULL").fetchone()[0] == 0
        assert con.execute("SELECT first_seen, last_seen FROM marts.alerts").fetchall() == [
            (first, second)]
        assert not deliver(con, delivery, second)  # nothing left to send
    assert [body["alert"]["state"] for _, body in hook.posts] == ["fired"] * 5  # 4 + 1


def test_pipeline_alerts_stale_data_rejected_records_and_unreconciled_campaigns(
        tmp_path: Path) -> None:
    """The pipeline's own rules, with the limits of its checks: no ingest for more than 26
    hours, a run's rejected share above 1%, a campaign given up on after 3 unreconciled pulls.
    Each fires once and resolves when a good run comes."""
    from orchestration.defs.alerts.pipeline import pipeline_findings
    from orchestration.lib.alerts.engine import apply
    from tests.ingest_helpers import open_raw

    now = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
    with open_raw(tmp_path / "warehouse.duckdb") as raw:
        con = raw.con
        raw.insert("ingest_runs", "(channel, run_id, finished_at, records, rejected) VALUES "
                   "('sms', 'r1', ?, 10000, 200), ('voice', 'r1', ?, 500, 0)",
                   [now - dt.timedelta(hours=30)] * 2)
        for attempt in range(3):
            raw.insert("campaign_pulls", "(channel, campaign_id, run_id, is_final, "
                       "is_reconciled, window_closed, loaded_at) VALUES "
                       "('sms', 'sms_short', ?, false, false, true, ?)",
                       [f"r{attempt}", now - dt.timedelta(days=3 - attempt)])
        raw.commit("test: a stale, unreconciled history")
        findings = {f.rule: f for f in pipeline_findings(con, now)}
        assert set(findings) == {"data_stale", "sms_rejected_share_high",
                                 "sms_stats_not_reconciled"}
        assert findings["data_stale"].message == "No ingest run finished for 30 hours (limit 26)"
        assert findings["sms_rejected_share_high"].severity == "error"
        assert "sms_short" in findings["sms_stats_not_reconciled"].message
        fired = apply(con, list(findings.values()), now, ())
        assert len(fired.fired) == 3

        later = now + dt.timedelta(hours=1)  # a good run lands
        raw.insert("ingest_runs", "(channel, run_id, finished_at, records, rejected) VALUES "
                   "('sms', 'r9', ?, 10000, 0), ('voice', 'r9', ?, 500, 0)", [later, later])
        raw.commit("test: a good run")
        changes = apply(con, pipeline_findings(con, later), later, ())
    assert sorted(a.rule for a in changes.resolved) == ["data_stale", "sms_rejected_share_high"]
    assert changes.holding == 1  # the campaign still needs a person
