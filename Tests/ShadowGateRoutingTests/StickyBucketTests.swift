import ShadowGateRouting
import Testing

@Suite("Sticky buckets")
struct StickyBucketTests {
    @Test("MurmurHash3 x86_32 matches the reference vectors")
    func referenceVectors() {
        func hash(_ text: String, _ seed: UInt32) -> UInt32 {
            Array(text.utf8).withUnsafeBytes { StickyBucket.murmur3_32($0, seed: seed) }
        }
        // Vectors from the reference implementation (SMHasher).
        #expect(hash("", 0) == 0)
        #expect(hash("", 1) == 0x514E_28B7)
        #expect(hash("a", 0) == 0x3C25_69B2)
        #expect(hash("abcd", 0x9747_B28C) == 0xF047_8627)
        #expect(hash("Hello, world!", 0x9747_B28C) == 0x2488_4CBA)
        #expect(hash("The quick brown fox jumps over the lazy dog", 0x9747_B28C) == 0x2FA8_26CD)
    }

    @Test("canary percentages select the learner's share and only move keys one way")
    func canaryShareIsMonotonic() {
        let keys = (0..<100_000).map { "user-\($0)" }
        let buckets = keys.map(StickyBucket.bucket(for:))
        let at5 = buckets.map { RouteFlags(mode: .canary, canaryPercent: 5, shadowPercent: 100).servingModel(bucket: $0) }
        let at25 = buckets.map { RouteFlags(mode: .canary, canaryPercent: 25, shadowPercent: 100).servingModel(bucket: $0) }
        let share = Double(at25.filter { $0 == .learner }.count) / Double(keys.count)
        #expect(abs(share - 0.25) <= 0.005)
        #expect(zip(at5, at25).allSatisfy { $0 == .legacy || $1 == .learner })
        #expect(buckets.allSatisfy { $0 < StickyBucket.count })
    }
}

@Suite("Legacy holdout buckets")
struct HoldoutBucketTests {
    @Test("the holdout is the top of the bucket range: its share, disjoint from any canary below 100 − holdout, none at 0")
    func holdoutSlice() {
        let buckets = (0..<StickyBucket.count)
        #expect(buckets.filter { StickyBucket.isHoldout(bucket: $0, percent: 2.5) }.count == 250)
        #expect(!buckets.contains { StickyBucket.isHoldout(bucket: $0, percent: 0) })
        for canary in [1.0, 50, 97.5] {
            #expect(!buckets.contains { StickyBucket.isHoldout(bucket: $0, percent: 2.5) && StickyBucket.isLearner(bucket: $0, percent: canary) })
        }
        // keys: about the configured share of 10,000 keys, the same key always the same way
        let keys = (0..<10_000).map { "user-\($0)" }
        let held = keys.filter { StickyBucket.isHoldout(bucket: StickyBucket.bucket(for: $0), percent: 5) }
        #expect((400...600).contains(held.count))
        #expect(held.allSatisfy { StickyBucket.isHoldout(bucket: StickyBucket.bucket(for: $0), percent: 5) })
    }
}
