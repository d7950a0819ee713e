import ShadowGatePromotion

extension HTMLReport {
    /// Every rollout event in the window, earliest first.
    func events() -> String {
        var s = "<section id=\"section-events\">\n<h2>6. Rollout decisions</h2>\n"
        s += "<p class=\"note\">shadowgate.rollout_events in the window; metrics are compare() as recorded with each decision.</p>\n"
        s += "<table id=\"rollout-events\" class=\"events\">\n<thead><tr><th>#</th><th>time (UTC)</th><th>actor</th><th>action</th>"
            + "<th>from → to</th><th>reason</th><th>learner version</th><th>metrics then</th></tr></thead>\n<tbody>\n"
        if data.events.isEmpty {
            s += "<tr><td colspan=\"8\">No rollout decisions in this window.</td></tr>\n"
        }
        for (index, event) in data.events.enumerated() {
            s += "<tr data-event-id=\"\(event.id)\" data-action=\"\(HTMLText.escape(event.action))\">"
                + "<td class=\"tag\">#\(index + 1)</td>"
                + "<td class=\"time\">\(UTCTime.date(event.at))<br>\(UTCTime.clock(event.at, seconds: true))</td>"
                + "<td>\(HTMLText.escape(event.actor))</td>"
                + "<td>\(HTMLText.escape(event.action))</td>"
                + "<td class=\"transition\">\(HTMLText.escape(event.transition))</td>"
                + "<td class=\"reason\">\(HTMLText.escape(event.reason))</td>"
                + "<td class=\"version\">\(event.learnerVersion.map { "<code>\(HTMLText.escape($0))</code>" } ?? "—")</td>"
                + "<td class=\"metrics\">\(Self.metricLines(event.metrics))</td></tr>\n"
        }
        return s + "</tbody>\n</table>\n</section>\n"
    }

    /// The key numbers of an event's `metrics` (compare() when it was decided), a line per kind;
    /// the two accuracies in their models' colours.
    static func metricLines(_ metrics: [String: Double]) -> String {
        func value(_ key: String, _ format: ChartValueFormat) -> String? { metrics[key].map(format.value) }
        var lines: [String] = []
        if let legacy = value("legacy_accuracy", .fractionAsPercent), let learner = value("learner_accuracy", .fractionAsPercent) {
            lines.append("accuracy <span class=\"legacy-text\">\(legacy)</span> / <span class=\"learner-text\">\(learner)</span>")
        }
        let agreement = [value("agreement", .fractionAsPercent).map { "agreement \($0)" }, value("psi", .number).map { "PSI \($0)" }]
        let volume = [metrics["pairs"].map { "\(ComparisonReport.format($0, integer: true)) pairs" },
                      value("learner_p95_ms", .milliseconds).map { "learner p95 \($0)" }]
        for line in [agreement, volume] where line.contains(where: { $0 != nil }) {
            lines.append(line.compactMap { $0 }.joined(separator: " · "))
        }
        return lines.isEmpty ? "—" : lines.joined(separator: "<br>")
    }
}
