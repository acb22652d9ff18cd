"""Offline HTML reports for people who never open SQL: a campaign report and an account
overview, each one self-contained file, read from the published copy.

Files are written under a temporary name and renamed into place, so a manager opening a report
while the daily run rewrites it sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from orchestration.lib.published import ReadError, open_published
from orchestration.lib.reports.campaign_data import load_campaigns
from orchestration.lib.reports.campaign_page import ReportContext, render_campaign, report_filename
from orchestration.lib.reports.overview_data import load_overview
from orchestration.lib.reports.overview_page import render_overview

OVERVIEW_FILENAME = "overview.html"


@dataclass(frozen=True)
class WrittenReports:
    overview: Path | None
    campaigns: dict[str, Path]
    listed: int = 0  # campaigns the overview lists (0: none started in its range)


def default_reports_dir(published: Path) -> Path:
    """Reports live beside the published copy: data/published.duckdb -> data/reports/."""
    return published.parent / "reports"


def _context(con: duckdb.DuckDBPyConnection, published: Path) -> ReportContext:
    cursor = con.execute("SELECT * FROM ops.publish")
    names = [d[0] for d in cursor.description or []]
    rows = cursor.fetchall()
    values = dict(zip(names, rows[0], strict=True)) if rows else {}
    if not values.get("account_timezone"):
        raise ReadError(f"{published} was published by an older version without its time zone: "
                        "run `campaign-analytics sync` to publish it again")
    return ReportContext(
        zone=ZoneInfo(values["account_timezone"]),
        generated_at=dt.datetime.now(dt.UTC),
        source=f"the published copy {published.name}",
        finalization_hours=int(values["dlr_finalization_hours"]),
        published_at=values.get("published_at"),
    )


def _write(path: Path, html: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.writing")
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, path)
    return path


def _write_campaigns(con: duckdb.DuckDBPyConnection, ctx: ReportContext,
                     campaign_ids: Sequence[str], directory: Path) -> dict[str, Path]:
    written = {}
    reports = load_campaigns(con, campaign_ids, ctx.zone)
    for campaign_id in campaign_ids:
        if campaign_id in reports:
            written[campaign_id] = _write(directory / report_filename(campaign_id),
                                          render_campaign(reports[campaign_id], ctx))
    return written


def write_campaign_report(published: Path, campaign_id: str, out: Path | None = None) -> Path:
    con = open_published(published)
    try:
        ctx = _context(con, published)
        out = out or default_reports_dir(published) / report_filename(campaign_id)
        reports = load_campaigns(con, [campaign_id], ctx.zone)
        if campaign_id not in reports:
            raise ReadError(f"unknown campaign {campaign_id!r}: not in the published copy "
                            "(list them with `campaign-analytics query \"SELECT campaign_id, "
                            "campaign_name FROM marts.dim_campaigns\"`)")
        return _write(out, render_campaign(reports[campaign_id], ctx))
    finally:
        con.close()


def write_overview(published: Path, *, start: dt.date | None = None, end: dt.date | None = None,
                   out: Path | None = None, with_campaigns: bool = True) -> WrittenReports:
    """The overview, and (by default) the report of every campaign it lists, beside it, so
    each link in its campaign table opens."""
    out = out or default_reports_dir(published) / OVERVIEW_FILENAME
    con = open_published(published)
    try:
        ctx = _context(con, published)
        data = load_overview(con, ctx.zone, start, end)
        ids = [c.campaign_id for c in data.campaigns]
        campaigns = _write_campaigns(con, ctx, ids, out.parent) if with_campaigns else {}
        linked = {i for i in ids if (out.parent / report_filename(i)).exists()}
        return WrittenReports(_write(out, render_overview(data, ctx, linked=linked)), campaigns,
                              len(ids))
    finally:
        con.close()


def write_finalized_reports(published: Path, directory: Path | None = None) -> WrittenReports:
    """The daily run's reports: every final campaign without a report yet (the ones this run
    finalized, or older ones if the folder was emptied), then a fresh overview.

    A final campaign's figures cannot change any more, so its report is written once."""
    directory = directory or default_reports_dir(published)
    con = open_published(published)
    try:
        ctx = _context(con, published)
        final = [cid for (cid,) in con.execute(
            "SELECT campaign_id FROM marts.dim_campaigns WHERE is_final ORDER BY started_at"
        ).fetchall()]
        missing = [cid for cid in final if not (directory / report_filename(cid)).exists()]
        campaigns = _write_campaigns(con, ctx, missing, directory)
        data = load_overview(con, ctx.zone, None, None)
        linked = {c.campaign_id for c in data.campaigns
                  if (directory / report_filename(c.campaign_id)).exists()}
        overview = _write(directory / OVERVIEW_FILENAME, render_overview(data, ctx, linked=linked))
        return WrittenReports(overview, campaigns, len(data.campaigns))
    finally:
        con.close()
