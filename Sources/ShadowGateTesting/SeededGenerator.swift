/// SplitMix64: a reproducible random source, so a failing property test can be replayed by seed.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A string built from pieces COPY text format must escape or pass through untouched.
    public mutating func awkwardString() -> String {
        let pieces = ["\t", "\n", "\r", "\\", "\\N", "\\.", "\"", "'", ",", ";", "a", "Z", "0", " ", "🦄", "👩‍👩‍👧", "é", "e\u{301}",
                      "中文", "\u{7F}", "\u{1}", "\u{1F}", "{", "}", "$1", "NULL", "\\t", "\\\\", "\u{FEFF}", "\u{10FFFF}"]
        let length = Int.random(in: 0...40, using: &self)
        var s = ""
        for _ in 0..<length { s += pieces.randomElement(using: &self)! }
        return s
    }
}
