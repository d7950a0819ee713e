/// Maps a sticky key to one of 10,000 buckets with MurmurHash3 (x86, 32-bit, seed 0), as Unleash does.
///
/// The hash depends only on the key's UTF-8 bytes, so every replica and every restart puts a key
/// in the same bucket. A key in bucket `b` is served by the learner when `b < percent × 100`;
/// raising the percentage therefore only moves keys from legacy to learner, never back.
public enum StickyBucket {
    /// Buckets per route: 10,000 gives a 0.01 % resolution.
    public static let count: UInt32 = 10_000

    public static func bucket(for key: String) -> UInt32 {
        var key = key
        return key.withUTF8 { murmur3_32(UnsafeRawBufferPointer($0), seed: 0) } % count
    }

    /// Whether a bucket falls inside the learner's share.
    public static func isLearner(bucket: UInt32, percent: Double) -> Bool {
        Double(bucket) < (percent * 100).rounded()
    }

    /// Whether a bucket is in a route's legacy holdout: the top `percent` of the bucket range
    /// (buckets ≥ 10,000 − percent × 100). The canary takes buckets from the bottom, so a holdout
    /// changes no other key's model while the canary share stays below 100 − `percent`; a holdout
    /// key is served by legacy in every mode (the canary's, and `promoted`).
    public static func isHoldout(bucket: UInt32, percent: Double) -> Bool {
        percent > 0 && Double(bucket) >= Double(count) - (percent * 100).rounded()
    }

    /// MurmurHash3_x86_32 over raw bytes.
    public static func murmur3_32(_ data: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51
        let c2: UInt32 = 0x1b87_3593
        var h = seed
        let blocks = data.count / 4
        for i in 0..<blocks {
            var k = data.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian
            k &*= c1
            k = (k << 15) | (k >> 17)
            k &*= c2
            h ^= k
            h = (h << 13) | (h >> 19)
            h = h &* 5 &+ 0xe654_6b64
        }
        var k: UInt32 = 0
        let tail = blocks * 4
        let rest = data.count & 3
        if rest >= 3 { k ^= UInt32(data[tail + 2]) << 16 }
        if rest >= 2 { k ^= UInt32(data[tail + 1]) << 8 }
        if rest >= 1 {
            k ^= UInt32(data[tail])
            k &*= c1
            k = (k << 15) | (k >> 17)
            k &*= c2
            h ^= k
        }
        h ^= UInt32(truncatingIfNeeded: data.count)
        h ^= h >> 16
        h &*= 0x85eb_ca6b
        h ^= h >> 13
        h &*= 0xc2b2_ae35
        h ^= h >> 16
        return h
    }
}
