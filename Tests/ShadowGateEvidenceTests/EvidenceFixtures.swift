import Foundation

/// `Fixtures/evidence.json` (Scripts/stats-fixtures/make_evidence_fixtures.py, SciPy), decoded.
struct EvidenceFixtures: Decodable {
    struct McNemar: Decodable { var b: Double; var c: Double; var log_e: Double }
    struct Sequence: Decodable {
        var kind: String
        var alpha: Double
        var lo: Double
        var hi: Double
        var values: [Double]
        var counts: [Double]
        var probe: [Double]
        var log_above: [Double]
        var log_below: [Double]
        var lower: Double
        var upper: Double
    }
    struct Detector: Decodable {
        var null: Double
        var alternatives: [Double]
        var batches: [[Double]]
        var log_statistic: [Double?]
    }

    var thetas: [Double]
    var mcnemar: [McNemar]
    var confidence_sequences: [Sequence]
    var detectors: [Detector]
    struct Quantized: Decodable {
        var name: String
        var limit: Double
        var alpha: Double
        var differences: [Double]
        var buckets: [[Double]]
        var mean: Double?
        var lower: Double
        var upper: Double
        var threshold: Double
        var detector_log_statistic: Double
    }
    var quantized: [Quantized]

    static let shared: EvidenceFixtures = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        let data = try! Data(contentsOf: url.appendingPathComponent("Fixtures/evidence.json"))
        return try! JSONDecoder().decode(EvidenceFixtures.self, from: data)
    }()
}

/// |a − b| ≤ tolerance · max(1, |b|).
func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    if a == b { return true }
    return abs(a - b) <= tolerance * max(1, abs(b))
}
