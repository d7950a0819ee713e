extension HTMLReport {
    /// Fewest pairs (labelled pairs for accuracy) a bucket needs to be drawn.
    static let minimumBucketPairs = 20.0

    /// The five time charts, each in a section of its own with a one-line reading guide.
    func charts() -> String {
        let window = data.window
        let markers = data.events.enumerated().map { Self.marker($1, number: $0 + 1) }
        func series(_ name: String, _ column: String, _ color: String, dash: String? = nil, countColumn: String = "pairs") -> ChartSeries {
            ChartSeries(name: name, key: column, color: color, dash: dash,
                        points: data.series.points(column, window: window, countColumn: countColumn, minimumCount: Self.minimumBucketPairs))
        }
        let few = "Buckets with fewer than \(Int(Self.minimumBucketPairs))"
        var s = ""
        s += section("accuracy", "1. Accuracy over time", "Share of labelled pairs each model got right, per \(data.bucket.description). \(few) labelled pairs are gaps.",
                     SVGLineChart(id: "chart-accuracy", title: "Accuracy of both models over time", yTitle: "accuracy", format: .fractionAsPercent,
                                  xDomain: window,
                                  series: [series("legacy", "legacy_accuracy", ReportPalette.legacy, countColumn: "labelled_pairs"),
                                           series("learner", "learner_accuracy", ReportPalette.learner, countColumn: "labelled_pairs")],
                                  markers: markers, includeZero: false, yLimit: 0...1).render())
        s += section("agreement", "2. Agreement", "Share of pairs where both models answered and gave the same class (or scores within the tolerance). \(few) pairs are gaps.",
                     SVGLineChart(id: "chart-agreement", title: "Agreement between the models over time", yTitle: "agreement", format: .fractionAsPercent,
                                  xDomain: window, series: [series("agreement", "agreement", ReportPalette.agreement)],
                                  markers: markers, includeZero: false, yLimit: 0...1).render())
        s += section("distribution", "3. Score distributions: KS D and PSI", "How far the learner's scores are from the legacy model's (0 = same distribution). \(few) pairs are gaps.",
                     SVGLineChart(id: "chart-distribution", title: "KS D and PSI over time", yTitle: "distance", format: .number,
                                  xDomain: window,
                                  series: [series("KS D", "ks_d", ReportPalette.ksD), series("PSI", "psi", ReportPalette.psi)],
                                  markers: markers).render())
        s += section("latency", "4. Latency", "Percentiles of each model's call latency: solid p50, dashed p95, dotted p99. \(few) pairs are gaps.",
                     SVGLineChart(id: "chart-latency", title: "Latency percentiles of both models over time", yTitle: "latency", format: .milliseconds,
                                  xDomain: window,
                                  series: [
                                    series("legacy p50", "legacy_p50_ms", ReportPalette.legacy, dash: ReportPalette.p50Dash),
                                    series("legacy p95", "legacy_p95_ms", ReportPalette.legacy, dash: ReportPalette.p95Dash),
                                    series("legacy p99", "legacy_p99_ms", ReportPalette.legacy, dash: ReportPalette.p99Dash),
                                    series("learner p50", "learner_p50_ms", ReportPalette.learner, dash: ReportPalette.p50Dash),
                                    series("learner p95", "learner_p95_ms", ReportPalette.learner, dash: ReportPalette.p95Dash),
                                    series("learner p99", "learner_p99_ms", ReportPalette.learner, dash: ReportPalette.p99Dash),
                                  ],
                                  markers: markers).render())
        if data.summary.hasRegressionMetrics {
            s += section("regression", "Regression errors", "MAE (solid) and RMSE (dashed) of each model on the labelled pairs with numeric labels. \(few) pairs are gaps.",
                         SVGLineChart(id: "chart-regression", title: "MAE and RMSE of both models over time", yTitle: "error", format: .number,
                                      xDomain: window,
                                      series: [series("legacy MAE", "legacy_mae", ReportPalette.legacy, countColumn: "labelled_pairs"),
                                               series("learner MAE", "learner_mae", ReportPalette.learner, countColumn: "labelled_pairs"),
                                               series("legacy RMSE", "legacy_rmse", ReportPalette.legacy, dash: ReportPalette.p95Dash, countColumn: "labelled_pairs"),
                                               series("learner RMSE", "learner_rmse", ReportPalette.learner, dash: ReportPalette.p95Dash, countColumn: "labelled_pairs")],
                                      markers: markers).render())
        }
        for (index, gate) in data.gateBounds.gates.enumerated() {
            func line(_ name: String, _ key: String, _ color: String, _ dash: String?, _ value: (GateBoundsHistory.Point) -> Double?) -> ChartSeries {
                ChartSeries(name: name, key: key, color: color, dash: dash,
                            points: gate.points.filter { window.contains($0.at) }.map { ChartPoint(x: $0.at, y: value($0).flatMap { $0.isFinite ? $0 : nil }) })
            }
            s += section("gate-\(gate.name)", "Evidence: \(gate.name)",
                         "The controller's estimate (solid) with its anytime-valid confidence bounds (dashed) at each evaluation, and the gate's threshold (dotted): the gate passes once the good-side bound clears the threshold and fails once the other bound crosses it.",
                         SVGLineChart(id: "chart-gate-\(index)", title: "\(gate.name): estimate and confidence bounds over time", yTitle: gate.name, format: .number,
                                      xDomain: window,
                                      series: [line("estimate", "estimate", ReportPalette.learner, nil, \.estimate),
                                               line("lower bound", "lower", ReportPalette.learner, ReportPalette.p95Dash, \.lower),
                                               line("upper bound", "upper", ReportPalette.learner, ReportPalette.p95Dash, \.upper),
                                               line("threshold", "threshold", ReportPalette.legacy, ReportPalette.p99Dash, \.threshold)],
                                      markers: markers, includeZero: false).render())
        }
        s += section("canary", "5. Learner's share of traffic", "Canary percentage over time (promoted = 100%, shadow and legacy = 0%); hover a decision for who made it and why; #n is row n of the table below.",
                     SVGStepChart(id: "chart-canary", title: "Learner's share of live traffic over time", yTitle: "share of requests",
                                  seriesName: "learner answers", color: ReportPalette.learner, format: .percent,
                                  xDomain: window, yDomain: 0...100, initial: data.learnerShareAtWindowStart,
                                  changes: zip(data.events, markers).map { SVGStepChart.Change(x: $0.at, value: $0.learnerShare, marker: $1) }).render())
        return s
    }

    private func section(_ key: String, _ title: String, _ note: String, _ svg: String) -> String {
        "<section class=\"chart\" id=\"section-\(key)\">\n<h2>\(title)</h2>\n<p class=\"note\">\(note)</p>\n\(svg)\n</section>\n"
    }

    /// The `number`th rollout decision of the window as a chart marker: `#3` in every chart,
    /// `advance → canary 5 %` where there is room, the rest on hover.
    static func marker(_ event: RolloutEvent, number: Int) -> ChartMarker {
        var detail = "\(UTCTime.dateTime(event.at)) · \(event.actor) · \(event.action) · \(event.transition)"
        if !event.reason.isEmpty { detail += " · reason: \(event.reason)" }
        if let version = event.learnerVersion { detail += " · learner \(version)" }
        return ChartMarker(x: event.at, tag: "#\(number)", label: "\(event.action) → \(RolloutEvent.state(mode: event.toMode, percent: event.toPercent))", detail: detail)
    }
}
