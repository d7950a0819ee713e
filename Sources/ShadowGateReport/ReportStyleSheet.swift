/// The report's CSS, inlined in the page: the file must open anywhere without fetching anything,
/// so fonts are the reader's own system fonts.
enum ReportStyleSheet {
    static let css = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f3f4f6; color: #111827;
               font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1120px; margin: 0 auto; padding: 24px 24px 48px; }
        header { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 20px 24px; margin-bottom: 16px; }
        h1 { font-size: 22px; margin: 0 0 12px; }
        h1 code { font-size: 21px; background: #eef2ff; padding: 1px 6px; border-radius: 5px; }
        h2 { font-size: 16px; margin: 0 0 4px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
        dl.facts dt { color: #6b7280; }
        dl.facts dd { margin: 0; }
        section { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 18px 24px 14px; margin-bottom: 16px; }
        p.note { color: #6b7280; margin: 0 0 8px; font-size: 13px; }
        .cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin: 12px 0 16px; }
        .card { border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 12px; background: #f9fafb; }
        .card .label { color: #6b7280; font-size: 12px; }
        .card .value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
        thead th { color: #374151; font-weight: 600; background: #f9fafb; }
        table.summary td.number, table.summary th.number { text-align: right; }
        table.summary { max-width: 640px; }
        td.winner { font-weight: 700; }
        .badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; margin-left: 6px; border-radius: 9px;
                 color: #ffffff; vertical-align: 1px; }
        .legacy .badge, .badge.legacy { background: #d97706; }
        .learner .badge, .badge.learner { background: #2563eb; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
        .swatch.legacy { background: #d97706; }
        .swatch.learner { background: #2563eb; }
        svg.sg-chart { display: block; width: 100%; height: auto; }
        svg.sg-chart text { font-family: inherit; }
        svg.sg-chart .axis-title { fill: #6b7280; }
        table.events th, table.events td { padding: 6px 7px; font-size: 13px; }
        table.events td.tag { color: #6b7280; font-weight: 600; }
        table.events td.time, table.events td.metrics, table.events td.version { white-space: nowrap; }
        table.events td.reason { overflow-wrap: anywhere; min-width: 200px; }
        table.events td.metrics { color: #374151; font-size: 12px; }
        .legacy-text { color: #b45309; font-weight: 600; }
        .learner-text { color: #1d4ed8; font-weight: 600; }
        footer { color: #6b7280; font-size: 12px; text-align: center; }
        """
}
