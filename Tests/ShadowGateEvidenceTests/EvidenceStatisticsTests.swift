import Foundation
import ShadowGateEvidence
import Testing

@Suite("Anytime-valid statistics against SciPy reference values")
struct EvidenceStatisticsTests {
    let fixtures = EvidenceFixtures.shared

    @Test("the bet grid is the one the fixtures were made with")
    func grid() {
        #expect(ConstantBetConfidenceSequence.fractions == fixtures.thetas)
    }

    @Test("McNemar e-values equal 2^(b+c)·B(b+1,c+1); the notes' examples")
    func mcNemar() {
        for row in fixtures.mcnemar {
            let value = McNemarEValue.logEValue(learnerOnly: row.b, legacyOnly: row.c)
            #expect(close(value, row.log_e), "b \(row.b) c \(row.c): \(value) vs \(row.log_e)")
        }
        #expect(abs(McNemarEValue.eValue(learnerOnly: 30, legacyOnly: 10) - 31.6369) < 1e-3)
        #expect(McNemarEValue.learnerBetter(learnerOnly: 30, legacyOnly: 10, alpha: 0.05))
        #expect(abs(McNemarEValue.eValue(learnerOnly: 120, legacyOnly: 80) - 4.8533) < 1e-3)
        #expect(!McNemarEValue.learnerBetter(learnerOnly: 120, legacyOnly: 80, alpha: 0.05))
        // Learner at 0 %, legacy at 40 %: E = 2^c/(c+1) crosses 1/0.05 first at c = 8.
        let crossing = (1...50).first { McNemarEValue.eValue(learnerOnly: 0, legacyOnly: Double($0)) >= 20 }
        #expect(crossing == 8)
    }

    @Test("constant-bet wealth and bounds equal the reference (paired differences, rates, relative rates)")
    func confidenceSequences() {
        for row in fixtures.confidence_sequences {
            let cs = ConstantBetConfidenceSequence(
                lowerLimit: row.lo, upperLimit: row.hi, outcomes: Array(zip(row.values, row.counts)).map { ($0.0, $0.1) })
            for (index, m) in row.probe.enumerated() {
                #expect(close(cs.logWealthAbove(m), row.log_above[index]), "\(row.kind) \(row.counts) K+(\(m))")
                #expect(close(cs.logWealthBelow(m), row.log_below[index]), "\(row.kind) \(row.counts) K-(\(m))")
            }
            #expect(close(cs.lowerBound(alpha: row.alpha), row.lower), "\(row.kind) \(row.counts) lower \(cs.lowerBound(alpha: row.alpha)) vs \(row.lower)")
            #expect(close(cs.upperBound(alpha: row.alpha), row.upper), "\(row.kind) \(row.counts) upper \(cs.upperBound(alpha: row.alpha)) vs \(row.upper)")
            if row.kind == "paired" {
                let evidence = PairedAccuracyEvidence(pairs: row.counts.reduce(0, +), learnerOnly: row.counts[0], legacyOnly: row.counts[1])
                #expect(evidence.lowerBound(alpha: row.alpha) == cs.lowerBound(alpha: row.alpha))
            }
        }
    }

    @Test("Shiryaev–Roberts statistics follow the reference batch by batch; empty batches are skipped")
    func detectors() {
        for row in fixtures.detectors {
            var detector = ShiryaevRobertsDetector(nullRate: row.null, alternatives: row.alternatives, alpha: 1e-4)
            for (batch, expected) in zip(row.batches, row.log_statistic) {
                detector.update(events: batch[0], trials: batch[1])
                if let expected { #expect(close(detector.logStatistic, expected), "\(batch): \(detector.logStatistic) vs \(expected)") }
            }
        }
        #expect(ShiryaevRobertsDetector.rate(maximum: 0.01, alpha: 1e-4).alternatives == fixtures.detectors[1].alternatives)
        #expect(ShiryaevRobertsDetector.pairedAccuracy(alpha: 1e-4).alternatives == fixtures.detectors[0].alternatives)
    }

    @Test("a collapsed learner alarms the paired detector within 20 discordant pairs; the state survives JSON")
    func collapse() throws {
        var detector = ShiryaevRobertsDetector.pairedAccuracy(alpha: 1e-4)
        var discordant = 0
        while !detector.alarmed, discordant < 100 {
            detector.update(events: 1, trials: 1)
            discordant += 1
        }
        #expect(discordant <= 20, "alarmed after \(discordant) legacy-only pairs")
        let decoded = try JSONDecoder().decode(ShiryaevRobertsDetector.self, from: JSONEncoder().encode(detector))
        #expect(decoded == detector)
        detector.reset()
        #expect(!detector.alarmed && detector.batches == 0)
    }

    @Test("without evidence the bounds are the outcome's limits; more evidence tightens them around the estimate")
    func shapes() {
        let none = PairedAccuracyEvidence()
        #expect(none.lowerBound(alpha: 0.05) == -1 && none.upperBound(alpha: 0.05) == 1)
        let small = PairedAccuracyEvidence(pairs: 500, learnerOnly: 45, legacyOnly: 30)
        let large = PairedAccuracyEvidence(pairs: 5000, learnerOnly: 450, legacyOnly: 300)
        #expect(large.lowerBound(alpha: 0.05) > small.lowerBound(alpha: 0.05))
        #expect(large.upperBound(alpha: 0.05) < small.upperBound(alpha: 0.05))
        #expect(large.lowerBound(alpha: 0.05) < 0.03 && 0.03 < large.upperBound(alpha: 0.05))
        #expect(large.lowerBound(alpha: 0.05) > 0)  // b − c = 150 of 5000 at 15 % discordance is decisive
        #expect(large.lowerBound(alpha: 0.01) < large.lowerBound(alpha: 0.05))
        let errors = BernoulliRateEvidence(trials: 1000, events: 0)
        #expect(errors.upperBound(alpha: 0.0167) < 0.01 && errors.lowerBound(alpha: 0.0167) == 0)
        #expect(AlphaSplit.perGate(alpha: 0.05, gates: 3) == 0.05 / 3)
    }

    @Test("coverage: over 400 simulated streams watched after every pair, the bound crosses the truth in ≤ 5 %")
    func coverage() {
        var generator = SplitMix(seed: 7)
        var misses = 0
        let runs = 400
        for _ in 0..<runs {
            var evidence = PairedAccuracyEvidence()
            var missed = false
            for step in 1...1500 {
                let u = generator.unit()
                // Δ = 0.02 at 16 % discordance: b with 0.09, c with 0.07
                let d: (Double, Double) = u < 0.09 ? (1, 0) : (u < 0.16 ? (0, 1) : (0, 0))
                evidence = evidence + PairedAccuracyEvidence(pairs: 1, learnerOnly: d.0, legacyOnly: d.1)
                if step % 25 == 0, evidence.lowerBound(alpha: 0.05) > 0.02 { missed = true; break }
            }
            if missed { misses += 1 }
        }
        #expect(Double(misses) / Double(runs) <= 0.05, "\(misses) of \(runs) lower bounds crossed Δ")
    }
}

/// A small deterministic generator for the coverage check.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
