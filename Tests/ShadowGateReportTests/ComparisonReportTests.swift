import Foundation
import ShadowGatePromotion
import ShadowGateReport
import Testing

@Suite("Comparison report")
struct ComparisonReportTests {
    static let text: [String: String?] = [
        "pairs": "1000", "labelled_pairs": "200", "agreement": "0.91", "mean_abs_score_diff": "0.0312",
        "legacy_accuracy": "0.8", "learner_accuracy": "0.875", "accuracy_delta": "0.075",
        "ks_d": "0.12", "ks_p": "0.0000123", "psi": "0.05", "chi2": "3.2", "chi2_p": nil,
        "legacy_p50_ms": "1.2", "legacy_p95_ms": "3", "legacy_p99_ms": "4.5",
        "learner_p50_ms": "2.5", "learner_p95_ms": "3", "learner_p99_ms": "9.25",
        "legacy_error_rate": "0", "learner_error_rate": "0.01", "legacy_timeout_rate": "0", "learner_timeout_rate": "0",
    ]

    @Test("the better model of each metric is marked; ties and missing values are not")
    func winners() {
        let report = ComparisonReport(route: "churn", since: "1h", text: Self.text)
        let better = Dictionary(uniqueKeysWithValues: report.rows.map { ($0.metric, $0.better) })
        #expect(better["accuracy"] == .learner)
        #expect(better["p50 latency (ms)"] == .legacy)
        #expect(better["p95 latency (ms)"] == .some(nil))
        #expect(better["error rate"] == .legacy)
        #expect(better["timeout rate"] == .some(nil))
        let table = report.renderTable()
        #expect(table.contains("route 'churn', last 1h"))
        #expect(table.contains("0.875 ◀"))
        #expect(table.contains("chi² 3.2 (p n/a)"))
        #expect(table.contains("1.23e-05"))
        // Columns line up: every data row has the legacy column at the same offset.
        let lines = table.split(separator: "\n").filter { ($0.hasPrefix("accuracy ") && !$0.contains("delta")) || $0.hasPrefix("error rate") }
        let offsets = lines.map { line in line.distance(from: line.startIndex, to: line.firstIndex(of: "0") ?? line.endIndex) }
        #expect(offsets.count == 2 && Set(offsets).count == 1)
    }

    @Test("JSON has every column, null for SQL NULL, and parses")
    func json() throws {
        let report = ComparisonReport(route: "r\"1", since: "1h", text: Self.text)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.renderJSON().utf8)) as? [String: Any])
        #expect(object["route"] as? String == "r\"1")
        #expect(object["pairs"] as? Int == 1000)
        #expect(object["learner_accuracy"] as? Double == 0.875)
        #expect(object["chi2_p"] is NSNull)
        #expect(Set(object.keys) == Set(ComparisonReport.columns + ["route", "since"]))
    }
}
