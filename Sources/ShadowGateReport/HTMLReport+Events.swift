extension HTMLReport {
    /// The metrics of an event's `metrics` jsonb the table shows, with their short names.
    static let eventMetrics: [(key: String, name: String, format: ChartValueFormat)] = [
        ("pairs", "pairs", .number),
        ("legacy_accuracy", "acc legacy", .fractionAsPercent),
        ("learner_accuracy", "acc learner", .fractionAsPercent),
        ("agreement", "agreement", .fractionAsPercent),
        ("psi", "PSI", .number),
        ("learner_p95_ms", "learner p95", .milliseconds),
    ]

    /// Every rollout event in the window, earliest first.
    func events() -> String {
        var s = "<section id=\"section-events\">\n<h2>6. Rollout decisions</h2>\n"
        s += "<p class=\"note\">shadowgate.rollout_events in the window; metrics are compare() as recorded with each decision.</p>\n"
        s += "<table id=\"rollout-events\" class=\"events\">\n<thead><tr><th>time (UTC)</th><th>actor</th><th>action</th>"
            + "<th>from → to</th><th>reason</th><th>learner version</th><th>metrics then</th></tr></thead>\n<tbody>\n"
        if data.events.isEmpty {
            s += "<tr><td colspan=\"7\">No rollout decisions in this window.</td></tr>\n"
        }
        for event in data.events {
            let metrics = Self.eventMetrics.compactMap { metric in
                event.metrics[metric.key].map { "\(metric.name) \(metric.format.value($0))" }
            }
            s += "<tr data-event-id=\"\(event.id)\" data-action=\"\(HTMLText.escape(event.action))\">"
                + "<td>\(UTCTime.dateTime(event.at))</td>"
                + "<td>\(HTMLText.escape(event.actor))</td>"
                + "<td>\(HTMLText.escape(event.action))</td>"
                + "<td>\(HTMLText.escape(event.transition))</td>"
                + "<td class=\"reason\">\(HTMLText.escape(event.reason))</td>"
                + "<td>\(event.learnerVersion.map { "<code>\(HTMLText.escape($0))</code>" } ?? "—")</td>"
                + "<td class=\"metrics\">\(metrics.isEmpty ? "—" : metrics.map(HTMLText.escape).joined(separator: "<br>"))</td></tr>\n"
        }
        return s + "</tbody>\n</table>\n</section>\n"
    }
}
