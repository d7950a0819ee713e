/// Makes random (version 4) UUID strings for requests that come without `x-request-id`.
///
/// One per event loop and confined to it: a xoshiro256** generator seeded once from the system's
/// random source, formatted by hand. Foundation's `UUID().uuidString` goes through `sprintf`, which
/// showed up in the data path's profile.
struct RequestIDGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next())
        if state == (0, 0, 0, 0) { state.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    private mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A lowercase `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` string.
    mutating func make() -> String {
        var high = next()
        var low = next()
        high = (high & ~0xF000) | 0x4000                      // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)        // RFC 4122 variant
        return String(unsafeUninitializedCapacity: 36) { out in
            let hex: StaticString = "0123456789abcdef"
            var index = 0
            func put(_ value: UInt64, nibbles: Int) {
                var shift = (nibbles - 1) * 4
                while shift >= 0 {
                    out[index] = hex.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                    shift -= 4
                }
            }
            put(high >> 32, nibbles: 8); out[index] = UInt8(ascii: "-"); index += 1
            put(high >> 16, nibbles: 4); out[index] = UInt8(ascii: "-"); index += 1
            put(high, nibbles: 4); out[index] = UInt8(ascii: "-"); index += 1
            put(low >> 48, nibbles: 4); out[index] = UInt8(ascii: "-"); index += 1
            put(low, nibbles: 12)
            return 36
        }
    }
}
