"""The HTML around the charts: one self-contained file, styles and script inline.

The Content-Security-Policy forbids every fetch (no `default-src`), so a report cannot reach
the network even by accident: what renders offline is exactly what renders online.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from orchestration.lib.reports.format import local_time

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:")

STYLE = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#f9fafb; --good:#15803d;
        --warn:#b45309; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:#fff; }
main { max-width:1040px; margin:0 auto; padding:24px; }
h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:18px; margin:32px 0 8px; }
.sub { color:var(--muted); margin:0 0 16px; }
section { break-inside:avoid; }
.summary { display:grid; grid-template-columns:repeat(auto-fill,minmax(220px,1fr)); gap:4px 24px;
           margin:0; padding:12px 16px; background:var(--card); border:1px solid var(--line);
           border-radius:8px; }
.summary dt { color:var(--muted); font-size:12px; } .summary dd { margin:0 0 6px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(128px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px; background:var(--card); }
.card .label { color:var(--muted); font-size:12px; }
.card .value { font-size:24px; font-weight:700; }
.card .rate { font-size:13px; color:var(--muted); }
.verdict { border-radius:8px; padding:12px 16px; margin:16px 0; border-left:6px solid; }
.verdict.healthy { background:#f0fdf4; border-color:var(--good); }
.verdict.watch { background:#fffbeb; border-color:var(--warn); }
.verdict.investigate { background:#fef2f2; border-color:var(--bad); }
.verdict.no-data { background:var(--card); border-color:var(--muted); }
.verdict strong { text-transform:uppercase; font-size:12px; letter-spacing:.05em; }
.note { background:#eff6ff; border:1px solid #bfdbfe; border-radius:8px; padding:10px 14px; }
figure.chart { margin:8px 0 0; } figure.chart figcaption { color:var(--muted); margin-top:4px; }
.empty { color:var(--muted); font-style:italic; padding:16px; border:1px dashed var(--line);
         border-radius:8px; }
table { border-collapse:collapse; width:100%; margin-top:8px; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); }
th { background:var(--card); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th[aria-sort=ascending]::after { content:" ▲"; }
table.sortable th[aria-sort=descending]::after { content:" ▼"; }
.pill { display:inline-block; padding:0 8px; border-radius:999px; font-size:12px; }
.pill.healthy { background:#dcfce7; color:var(--good); }
.pill.watch { background:#fef3c7; color:var(--warn); }
.pill.investigate { background:#fee2e2; color:var(--bad); }
.pill.no-data, .pill.pending { background:#f3f4f6; color:var(--muted); }
.ok { color:var(--good); } .not-ok { color:var(--bad); }
footer { color:var(--muted); font-size:12px; border-top:1px solid var(--line);
         margin-top:40px; padding-top:12px; }
@media print { main { padding:0; } a { color:inherit; text-decoration:none; } }
"""

# Click a column header to sort; numbers sort by their data-sort value, not their text.
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[column];
        var raw = cell.getAttribute('data-sort');
        if (raw === null) { return cell.textContent.trim().toLowerCase(); }
        var number = parseFloat(raw);
        return isNaN(number) ? raw : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def document(title: str, body: str, *, generated_at: dt.datetime, zone: ZoneInfo,
             source: str) -> str:
    footer = (f"Generated {escape(local_time(generated_at, zone))} from {escape(source)}. "
              f"Times are local to the account ({escape(zone.key)}). "
              "Rates follow the provider's definitions: delivery = delivered / submitted, "
              "connect = connected contacts / contacts.")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}<footer>{footer}</footer></main>"
        f"<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def section(title: str, content: str, *, section_id: str) -> str:
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>{content}</section>'


def chart(chart_id: str, svg: str | None, *, caption: str, empty: str) -> str:
    """A chart, or the sentence that replaces it when there is nothing to draw."""
    if svg is None:
        return (f'<figure class="chart" data-chart="{chart_id}" data-empty="true">'
                f'<p class="empty">{escape(empty)}</p></figure>')
    return (f'<figure class="chart" data-chart="{chart_id}" data-empty="false">{svg}'
            f'<figcaption>{escape(caption)}</figcaption></figure>')


def table(headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str | None]]], *,
          numeric: Sequence[bool], sortable: bool = False, html_cells: bool = False,
          table_id: str = "") -> str:
    """Rows of (shown text, sort key) cells. Cells are escaped unless `html_cells`."""
    head = "".join(f'<th scope="col"{" class=num" if n else ""}>{escape(h)}</th>'
                   for h, n in zip(headers, numeric, strict=True))
    body = []
    for row in rows:
        cells = []
        for (text, sort_key), is_number in zip(row, numeric, strict=True):
            attrs = ' class="num"' if is_number else ""
            if sort_key is not None:
                attrs += f' data-sort="{escape(str(sort_key))}"'
            text = "—" if text is None else text  # a missing value shows as a dash
            cells.append(f"<td{attrs}>{text if html_cells else escape(str(text))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    classes = ' class="sortable"' if sortable else ""
    ident = f' id="{table_id}"' if table_id else ""
    return (f"<table{classes}{ident}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """Metric cards: (label, value, rate line)."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="rate">{escape(rate)}</div></div>'
        for label, value, rate in items) + "</div>"


def summary(fields: Sequence[tuple[str, str]]) -> str:
    return '<dl class="summary">' + "".join(
        f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in fields) + "</dl>"


def pill(level: str) -> str:
    return f'<span class="pill {level.replace(" ", "-")}">{escape(level)}</span>'
