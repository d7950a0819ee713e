import Foundation
import ShadowGatePairRecord
import ShadowGateTesting

/// Builds varied pair records for the writer tests.
enum PairRecordFactory {
    static let baseMicros = Int64(Date().timeIntervalSince1970 * 1_000_000)

    static func record(_ i: Int, run: String = UUID().uuidString, rng: inout SeededGenerator) -> PairRecord {
        let skipped = i % 11 == 0
        let legacy = PredictionSide(
            status: 200, latencyMicros: Int64(1000 + i % 5000), outcome: .ok,
            output: "{\"predictions\": [\(Double(i % 1000) / 1000)], \"note\": \"\(i % 7 == 0 ? "tab\\tand \\\"quote\\\"" : "x")\"}",
            score: Double(i % 1000) / 1000, label: i % 3 == 0 ? "churn" : nil, modelVersion: "v1")
        let learner = skipped
            ? PredictionSide.skipped
            : PredictionSide(
                status: i % 13 == 0 ? 503 : 200, latencyMicros: Int64(2000 + i % 7000),
                outcome: i % 13 == 0 ? .httpError : .ok,
                output: i % 13 == 0 ? nil : "[\(Double(i % 997) / 997)]",
                score: i % 13 == 0 ? nil : Double(i % 997) / 997,
                label: nil, modelVersion: "2026-11-25T10:00",
                error: i % 13 == 0 ? "HTTP 503\tService Unavailable\n\\retry" : nil)
        return PairRecord(
            requestID: "\(run)-\(i)", route: i % 2 == 0 ? "churn" : "fraud",
            receivedAtMicros: baseMicros + Int64(i),
            servedBy: i % 10 == 0 ? .learner : .legacy, mode: i % 10 == 0 ? .canary : .shadow,
            canaryPercent: i % 10 == 0 ? 12.5 : 0,
            legacy: legacy, learner: learner,
            shadowSkip: skipped ? .sampledOut : nil,
            features: i % 5 == 0 ? nil : "{\"user\": \"u\(i)\", \"text\": \(jsonString(rng.awkwardString()))}",
            featuresTruncated: i % 5 == 0)
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self)
    }
}
