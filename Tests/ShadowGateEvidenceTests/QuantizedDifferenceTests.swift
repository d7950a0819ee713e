import Foundation
import ShadowGateEvidence
import Testing

@Suite("Regression evidence: quantized clipped error differences against the SciPy reference")
struct QuantizedDifferenceTests {
    let fixtures = EvidenceFixtures.shared

    @Test("buckets, mean, bounds and the detector's first batch equal the reference")
    func reference() {
        #expect(fixtures.quantized.count == 5)
        for row in fixtures.quantized {
            var evidence = QuantizedDifferenceEvidence(limit: row.limit)
            for d in row.differences { evidence.add(d) }
            let buckets = evidence.counts.sorted { $0.key < $1.key }.map { [Double($0.key), $0.value] }
            #expect(buckets == row.buckets, "\(row.name) buckets")
            if let mean = row.mean { #expect(close(evidence.mean ?? .nan, mean), "\(row.name) mean") }
            // the bisection stops at 2e-7 of the limit
            let tolerance = 4e-7 * row.limit
            #expect(abs(evidence.lowerBound(alpha: row.alpha) - row.lower) <= tolerance, "\(row.name) lower \(evidence.lowerBound(alpha: row.alpha)) vs \(row.lower)")
            #expect(abs(evidence.upperBound(alpha: row.alpha) - row.upper) <= tolerance, "\(row.name) upper \(evidence.upperBound(alpha: row.alpha)) vs \(row.upper)")
            var detector = DifferenceChangeDetector(threshold: row.threshold, limit: row.limit, alpha: 1e-4)
            detector.update(evidence)
            #expect(close(detector.logStatistic, row.detector_log_statistic), "\(row.name) detector \(detector.logStatistic) vs \(row.detector_log_statistic)")
        }
    }

    @Test("every difference lies in its bucket; counts add up across batches in any order")
    func bucketsContainTheirDifferences() {
        var generator = SystemRandomNumberGenerator()
        var a = QuantizedDifferenceEvidence(limit: 4), b = QuantizedDifferenceEvidence(limit: 4), all = QuantizedDifferenceEvidence(limit: 4)
        for index in 0..<5000 {
            let d = Double.random(in: -4...4, using: &generator) * (index % 3 == 0 ? 0.01 : 1)
            let interval = QuantizedDifferenceEvidence.interval(of: QuantizedDifferenceEvidence.bucket(of: d, limit: 4), limit: 4)
            #expect(interval.low <= d && d <= interval.high, "\(d) outside \(interval)")
            if index % 2 == 0 { a.add(d) } else { b.add(d) }
            all.add(d)
        }
        #expect((a + b).counts == all.counts && (b + a).counts == all.counts)
        #expect(abs((a + b).sum - all.sum) < 1e-9)
    }

    @Test("coverage: over 100 simulated streams the running bounds miss the true mean at most alpha of the time")
    func coverage() {
        // d = clipped |e_learner| − |e_legacy| with equal models: true mean 0. Checked after every 25 pairs up to 500.
        var misses = 0
        for seed in 0..<100 {
            var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
            func unit() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Double(state >> 11) / Double(UInt64(1) << 53)
            }
            func normal() -> Double { (-2 * log(max(unit(), 1e-300))).squareRoot() * cos(2 * .pi * unit()) }
            var evidence = QuantizedDifferenceEvidence(limit: 5)
            var missed = false
            for pair in 1...500 {
                let shared = 0.8 * normal()
                evidence.add(min(abs(shared + 0.6 * normal()), 5) - min(abs(shared + 0.6 * normal()), 5))
                if pair % 25 == 0, evidence.lowerBound(alpha: 0.05) > 0 || evidence.upperBound(alpha: 0.05) < 0 { missed = true; break }
            }
            if missed { misses += 1 }
        }
        // each one-sided statement errs with probability ≤ 0.05; both together ≤ 0.1 (binomial 100, p 0.1: ≤ 20 with 99.8 %)
        #expect(misses <= 20, "\(misses) of 100 streams excluded the true mean")
    }

    @Test("a learner whose errors jump to the clip alarms the detector within 30 labelled pairs; an equal one does not")
    func detectorSpeed() {
        var collapsed = DifferenceChangeDetector(threshold: 0, limit: 5, alpha: 1e-4 / 3)
        var pairs = 0
        while !collapsed.alarmed && pairs < 100 {
            var batch = QuantizedDifferenceEvidence(limit: 5)
            batch.add(5 - 0.8)
            collapsed.update(batch)
            pairs += 1
        }
        #expect(pairs <= 30, "alarmed after \(pairs) pairs")
        var equal = DifferenceChangeDetector(threshold: 0, limit: 5, alpha: 1e-4)
        for index in 0..<2000 {
            var batch = QuantizedDifferenceEvidence(limit: 5)
            batch.add(index % 2 == 0 ? 0.3 : -0.3)
            equal.update(batch)
        }
        #expect(!equal.alarmed)
        let json = try? JSONEncoder().encode(collapsed)
        #expect(json.flatMap { try? JSONDecoder().decode(DifferenceChangeDetector.self, from: $0) } == collapsed)
    }
}
