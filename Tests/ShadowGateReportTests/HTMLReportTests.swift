import ShadowGateControl
import ShadowGatePromotion
import ShadowGateReport
import ShadowGateRouting
import Testing

@Suite("HTML report")
struct HTMLReportTests {
    static let start = 1_777_636_800.0

    static func data(route: String = "churn", events: [RolloutEvent] = HTMLReportTests.events) -> ReportData {
        var values: [String: Double?] = [:]
        for (index, column) in ComparisonReport.columns.enumerated() { values[column] = 0.001 * Double(index) + 0.1 }
        values["chi2_p"] = .some(nil)
        values["ks_p"] = 1.23e-7
        let buckets = (0..<60).map { (i: Int) -> ComparisonSeries.Bucket in
            let gap = i == 30
            let learner: Double? = gap ? nil : 0.6 + Double(i) / 200
            let legacy: Double? = gap ? nil : 0.8
            return ComparisonSeries.Bucket(start: start + Double(i) * 60, values: ["legacy_accuracy": legacy, "learner_accuracy": learner])
        }
        return ReportData(
            route: route, since: "1h", windowStart: start, windowEnd: start + 3600,
            bucket: ReportBucket(interval: "60 seconds", seconds: 60),
            summary: ComparisonReport(route: route, since: "1h", values: values),
            series: ComparisonSeries(buckets: buckets, bucketSeconds: 60),
            flags: FlagRecord(route: route, flags: RouteFlags(mode: .canary, canaryPercent: 25, shadowPercent: 100), revision: 4,
                              updatedAt: start + 1800, updatedBy: "cli:ana", reason: "looks good"),
            learnerVersion: "river-7", events: events, eventBeforeWindow: nil)
    }

    static let events = [
        RolloutEvent(id: 1, at: start + 60, actor: "config", action: "seed", fromMode: nil, fromPercent: nil, toMode: "shadow",
                     toPercent: 0, reason: "initial state from the config file", learnerVersion: nil, metrics: [:]),
        RolloutEvent(id: 2, at: start + 1800, actor: "cli:ana", action: "set", fromMode: "shadow", fromPercent: 0, toMode: "canary",
                     toPercent: 25, reason: "<script>alert(1)</script>", learnerVersion: "river-7",
                     metrics: ["legacy_accuracy": 0.8, "learner_accuracy": 0.9, "pairs": 300]),
    ]

    @Test("every compare() column appears once with its exact value; NULL is an empty data-value")
    func exactValues() throws {
        let html = HTMLReport(Self.data()).render()
        for column in ComparisonReport.columns {
            let marker = "data-column=\"\(column)\" data-value=\""
            let parts = html.components(separatedBy: marker)
            #expect(parts.count == 2, "\(column) appears \(parts.count - 1) times")
            let text = String(try #require(parts.last?.prefix { $0 != "\"" }))
            let expected = Self.data().summary.value(column)
            #expect(text.isEmpty ? expected == nil : Double(text) == expected, "\(column): \(text)")
        }
        #expect(html.contains("data-column=\"ks_p\" data-value=\"1.23e-07\""))
    }

    @Test("the winner of each metric is marked and the page fetches nothing")
    func winnersAndSelfContained() {
        let html = HTMLReport(Self.data()).render()
        // higher learner accuracy, lower legacy latency (columns increase down the list)
        #expect(html.contains("<tr data-metric=\"accuracy\" data-better=\"learner\">"))
        #expect(html.contains("<tr data-metric=\"p50 latency (ms)\" data-better=\"legacy\">"))
        #expect(html.components(separatedBy: "class=\"badge\">better</span>").count - 1 == 6)
        for forbidden in ["http://", "https://", "<script", "<link", "<img", "src=", "@import", "url("] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        for id in ["chart-accuracy", "chart-agreement", "chart-distribution", "chart-latency", "chart-canary", "rollout-events"] {
            #expect(html.contains("id=\"\(id)\""), "\(id)")
        }
    }

    @Test("text from the database is escaped in the header, the charts and the events table")
    func escaping() {
        let html = HTMLReport(Self.data(route: "a<b>&\"c'")).render()
        #expect(html.contains("<code id=\"route\">a&lt;b&gt;&amp;&quot;c&#39;</code>"))
        #expect(!html.contains("a<b>"))
        #expect(html.contains("<td class=\"reason\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        #expect(html.contains("reason: &lt;script&gt;alert(1)&lt;/script&gt; · learner river-7</title>"))
    }

    @Test("events: one row each with transition and recorded metrics; the canary line starts where the first event came from")
    func events() {
        let data = Self.data()
        let html = HTMLReport(data).render()
        #expect(html.contains("<strong>canary 25 %</strong> · learner answers 25 % of requests · shadow 100 %"))
        #expect(html.contains("<tr data-event-id=\"1\" data-action=\"seed\">"))
        #expect(html.contains("<td class=\"transition\">shadow → canary 25 %</td>"))
        #expect(html.contains("<td class=\"transition\">→ shadow</td>"))
        #expect(html.contains("<td class=\"metrics\">accuracy <span class=\"legacy-text\">80.0%</span> / <span class=\"learner-text\">90.0%</span><br>300 pairs</td>"))
        #expect(html.contains("<td class=\"tag\">#2</td>"))
        #expect(data.learnerShareAtWindowStart == nil)
        var later = data
        later.events.removeFirst()
        #expect(later.learnerShareAtWindowStart == 0)
        #expect(HTMLReport(Self.data(events: [])).render().contains("No rollout decisions in this window."))
    }

    @Test("event shares: promoted is 100 %, canary its percent, shadow and legacy none")
    func shares() {
        #expect(RolloutEvent.learnerShare(mode: "promoted", percent: 0) == 100)
        #expect(RolloutEvent.learnerShare(mode: "canary", percent: 12.5) == 12.5)
        #expect(RolloutEvent.learnerShare(mode: "shadow", percent: 40) == 0)
        #expect(RolloutEvent.learnerShare(mode: "legacy", percent: 40) == 0)
    }
}

@Suite("HTML report: evidence gates and regression")
struct HTMLReportEvidenceTests {
    @Test("each evidence gate gets a chart of its estimate, bounds and threshold; regression routes get their error cards and chart")
    func gateBoundsAndRegression() {
        var data = HTMLReportTests.data()
        let t0 = HTMLReportTests.start
        data.gateBounds = GateBoundsHistory(gates: [
            ("mae_delta_max", (0..<20).map { i in
                GateBoundsHistory.Point(at: t0 + 600 + Double(i) * 60, estimate: -0.1, lower: -0.1 - 1 / Double(i + 1),
                                        upper: -0.1 + 1 / Double(i + 1), threshold: 0)
            }),
            ("learner_error_rate_max", [GateBoundsHistory.Point(at: t0 + 900, estimate: 0.001, lower: 0, upper: 0.004, threshold: 0.01),
                                        GateBoundsHistory.Point(at: t0 + 99_999, estimate: 0.5, lower: 0.4, upper: 0.6, threshold: 0.01)]),
        ])
        let html = HTMLReport(data).render()
        #expect(html.contains("id=\"section-gate-mae_delta_max\"") && html.contains("id=\"chart-gate-0\""))
        #expect(html.contains("id=\"section-gate-learner_error_rate_max\"") && html.contains("id=\"chart-gate-1\""))
        for key in ["estimate", "lower", "upper", "threshold"] {
            #expect(html.components(separatedBy: "data-series=\"\(key)\"").count - 1 >= 2, "\(key)")
        }
        #expect(html.contains("id=\"regression-cards\"") && html.contains("id=\"chart-regression\""))
        // a classification route: no regression block
        var classification = HTMLReportTests.data()
        for column in ["legacy_mae", "learner_mae", "legacy_rmse", "learner_rmse"] { classification.summary.values[column] = .some(nil) }
        let plain = HTMLReport(classification).render()
        #expect(!plain.contains("regression-cards") && !plain.contains("chart-regression") && !plain.contains("section-gate-"))
    }
}
