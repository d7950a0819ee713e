// Navigation over text that `validate()` accepted. These walk bytes without re-checking the
// grammar (validation already did), so skipping a value is a flat loop, not a recursion.
// Every read is bounds-checked so that misuse gives wrong answers, never a trap.

extension JSONScanner {
    @inline(__always) func byte(_ index: Int) -> UInt8 {
        index >= 0 && index < bytes.count ? bytes[index] : 0
    }

    @inline(__always) func skipWhitespace(from index: Int, to end: Int) -> Int {
        var i = index
        while i < end, ASCII.isWhitespace(bytes[i]) { i += 1 }
        return i
    }

    /// `index` at an opening quote; returns the index after the closing quote.
    func skipString(from index: Int) -> Int {
        var i = index + 1
        let count = bytes.count
        while i < count {
            let b = bytes[i]
            if b == ASCII.quote { return i + 1 }
            i += b == ASCII.backslash ? 2 : 1
        }
        return count
    }

    /// The end of the value starting at `index` (always > `index` when `index` is in bounds).
    func skipValue(from index: Int) -> Int {
        let count = bytes.count
        guard index < count else { return count }
        switch bytes[index] {
        case ASCII.quote:
            return skipString(from: index)
        case ASCII.openBrace, ASCII.openBracket:
            var depth = 0
            var i = index
            while i < count {
                let b = bytes[i]
                if b == ASCII.quote {
                    i = skipString(from: i)
                    continue
                }
                if b == ASCII.openBrace || b == ASCII.openBracket {
                    depth += 1
                } else if b == ASCII.closeBrace || b == ASCII.closeBracket {
                    depth -= 1
                    if depth == 0 { return i + 1 }
                }
                i += 1
            }
            return count
        default:
            var i = index + 1
            while i < count {
                let b = bytes[i]
                if b == ASCII.comma || b == ASCII.closeBrace || b == ASCII.closeBracket || ASCII.isWhitespace(b) {
                    break
                }
                i += 1
            }
            return i
        }
    }

    static func kind(ofFirstByte b: UInt8) -> JSONKind {
        switch b {
        case ASCII.openBrace: .object
        case ASCII.openBracket: .array
        case ASCII.quote: .string
        case ASCII.lowerT, ASCII.lowerF: .bool
        case ASCII.lowerN: .null
        default: .number
        }
    }

    /// The span of the value starting at `index`.
    func span(at index: Int) -> JSONSpan {
        JSONSpan(kind: Self.kind(ofFirstByte: byte(index)), range: index..<skipValue(from: index))
    }

    // MARK: Containers

    /// The members of an object, in text order (empty when `object` is not an object).
    public func members(of object: JSONSpan) -> Members {
        let range = clamped(object.range)
        return Members(scanner: self, position: object.kind == .object ? range.lowerBound + 1 : 0,
                       end: object.kind == .object ? range.upperBound - 1 : 0)
    }

    /// The elements of an array, in order (empty when `array` is not an array).
    public func elements(of array: JSONSpan) -> Elements {
        let range = clamped(array.range)
        return Elements(scanner: self, position: array.kind == .array ? range.lowerBound + 1 : 0,
                        end: array.kind == .array ? range.upperBound - 1 : 0)
    }

    public struct Members: Sequence, IteratorProtocol {
        let scanner: JSONScanner
        var position: Int
        let end: Int

        public mutating func next() -> (key: JSONSpan, value: JSONSpan)? {
            let s = scanner
            var i = s.skipWhitespace(from: position, to: end)
            guard i < end, s.bytes[i] == ASCII.quote else { return nil }
            let key = JSONSpan(kind: .string, range: i..<s.skipString(from: i))
            i = s.skipWhitespace(from: key.range.upperBound, to: end)
            guard i < end, s.bytes[i] == ASCII.colon else { return nil }
            i = s.skipWhitespace(from: i + 1, to: end)
            guard i < end else { return nil }
            let value = s.span(at: i)
            i = s.skipWhitespace(from: value.range.upperBound, to: end)
            if i < end, s.bytes[i] == ASCII.comma { i += 1 }
            position = i
            return (key, value)
        }
    }

    public struct Elements: Sequence, IteratorProtocol {
        let scanner: JSONScanner
        var position: Int
        let end: Int

        public mutating func next() -> JSONSpan? {
            let s = scanner
            var i = s.skipWhitespace(from: position, to: end)
            guard i < end else { return nil }
            let value = s.span(at: i)
            i = s.skipWhitespace(from: value.range.upperBound, to: end)
            if i < end, s.bytes[i] == ASCII.comma { i += 1 }
            // Guarantees progress even on text that never validated.
            position = Swift.max(i, value.range.lowerBound + 1)
            return value
        }
    }

    /// The value of the member named `key` (compared after unescaping), or nil.
    /// With duplicate keys the last one wins, as in PostgreSQL `jsonb` and most parsers.
    public func value(forKey key: String, in object: JSONSpan) -> JSONSpan? {
        var found: JSONSpan?
        for member in members(of: object) where string(member.key, equals: key) {
            found = member.value
        }
        return found
    }

    /// The `index`-th element of an array, or nil.
    public func element(_ index: Int, in array: JSONSpan) -> JSONSpan? {
        guard index >= 0 else { return nil }
        var k = 0
        for element in elements(of: array) {
            if k == index { return element }
            k += 1
        }
        return nil
    }

    // MARK: Scalars

    /// The raw JSON text of a value, exactly as in the buffer.
    public func text(_ span: JSONSpan) -> String {
        let range = clamped(span.range)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    func clamped(_ range: Range<Int>) -> Range<Int> {
        range.clamped(to: 0..<bytes.count)
    }

    /// Whether a string value, unescaped, equals `expected`. Escapes on either form are handled:
    /// `"\u0061"` equals `"a"`.
    public func string(_ span: JSONSpan, equals expected: String) -> Bool {
        guard span.kind == .string, span.range.count >= 2 else { return false }
        // Keys are compared for every member of every object walked, and almost never contain
        // escapes: compare raw bytes, and decode only when there is a backslash.
        let content = clamped((span.range.lowerBound + 1)..<(span.range.upperBound - 1))
        let raw = UnsafeRawBufferPointer(rebasing: bytes[content])
        let quick: Bool?? = expected.utf8.withContiguousStorageIfAvailable { wanted -> Bool? in
            if raw.count == wanted.count {
                var k = 0
                while k < raw.count, raw[k] == wanted[k] { k += 1 }
                if k == raw.count { return true }
            }
            return raw.contains(ASCII.backslash) ? nil : false
        }
        if let quick, let answer = quick { return answer }
        var decoded = DecodedStringBytes(scanner: self, span: span)
        var wanted = expected.utf8.makeIterator()
        while true {
            let a = decoded.next()
            let b = wanted.next()
            if a != b { return false }
            if a == nil { return true }
        }
    }

    /// A string value with its escapes decoded, or nil when `span` is not a string.
    public func string(_ span: JSONSpan) -> String? {
        guard span.kind == .string, span.range.count >= 2 else { return nil }
        let content = clamped((span.range.lowerBound + 1)..<(span.range.upperBound - 1))
        let raw = UnsafeRawBufferPointer(rebasing: bytes[content])
        if !raw.contains(ASCII.backslash) {
            return String(decoding: raw, as: UTF8.self)
        }
        // Decoding never lengthens a string (`\uXXXX` is 6 bytes for at most 3), so the raw
        // length is enough capacity.
        return String(unsafeUninitializedCapacity: raw.count) { buffer in
            var decoded = DecodedStringBytes(scanner: self, span: span)
            var n = 0
            while n < buffer.count, let b = decoded.next() {
                buffer[n] = b
                n += 1
            }
            return n
        }
    }

    /// A boolean value, or nil when `span` is not `true`/`false`.
    public func bool(_ span: JSONSpan) -> Bool? {
        guard span.kind == .bool else { return nil }
        return byte(span.range.lowerBound) == ASCII.lowerT
    }

    /// A number value as the nearest `Double` (`NaN`/`±Infinity` tokens as themselves, numbers
    /// beyond `Double`'s range as `±infinity` or `0`), or nil when `span` is not a number.
    public func number(_ span: JSONSpan) -> Double? {
        guard span.kind == .number else { return nil }
        let range = clamped(span.range)
        var i = range.lowerBound
        let end = range.upperBound
        var negative = false
        if byte(i) == ASCII.minus {
            negative = true
            i += 1
        }
        switch byte(i) {
        case ASCII.upperN: return .nan
        case ASCII.upperI: return negative ? -.infinity : .infinity
        default: break
        }
        // Clinger's fast path: up to 19 significant digits fit a UInt64; when the mantissa is
        // exactly representable (≤ 2^53) and the power of ten is too (≤ 1e22), one IEEE
        // multiplication or division is correctly rounded. Everything else goes to the
        // standard library's correctly rounded parser.
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var decimalExponent = 0
        var sawNonZero = false
        /// Adds one digit to the mantissa (leading zeros skipped); false past 19 significant digits.
        @inline(__always) func accumulate(_ d: UInt8) -> Bool {
            guard d != 0 || sawNonZero else { return true }
            sawNonZero = true
            guard significantDigits < 19 else { return false }
            mantissa = mantissa * 10 + UInt64(d)
            significantDigits += 1
            return true
        }
        while i < end, ASCII.isDigit(bytes[i]) {
            guard accumulate(bytes[i] - ASCII.zero) else { return slowNumber(range) }
            i += 1
        }
        if i < end, bytes[i] == ASCII.dot {
            i += 1
            while i < end, ASCII.isDigit(bytes[i]) {
                guard accumulate(bytes[i] - ASCII.zero) else { return slowNumber(range) }
                decimalExponent -= 1
                i += 1
            }
        }
        if i < end, bytes[i] == ASCII.lowerE || bytes[i] == ASCII.upperE {
            i += 1
            var expNegative = false
            if i < end, bytes[i] == ASCII.minus || bytes[i] == ASCII.plus {
                expNegative = bytes[i] == ASCII.minus
                i += 1
            }
            var exponent = 0
            while i < end, ASCII.isDigit(bytes[i]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] - ASCII.zero) }
                i += 1
            }
            decimalExponent += expNegative ? -exponent : exponent
        }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if mantissa <= 1 << 53, decimalExponent >= -22, decimalExponent <= 22 {
            let m = Double(mantissa)
            let value = decimalExponent < 0
                ? m / Self.powersOfTen[-decimalExponent]
                : m * Self.powersOfTen[decimalExponent]
            return negative ? -value : value
        }
        return slowNumber(range)
    }

    private func slowNumber(_ range: Range<Int>) -> Double {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        return Double(text) ?? .nan
    }

    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    // MARK: Search

    /// The first number in a value, depth-first (which is text order), ignoring object keys.
    func firstNumber(in span: JSONSpan) -> JSONSpan? {
        let range = clamped(span.range)
        var i = range.lowerBound
        while i < range.upperBound {
            let b = bytes[i]
            if b == ASCII.quote {
                i = skipString(from: i)
            } else if b == ASCII.minus || ASCII.isDigit(b) || b == ASCII.upperN || b == ASCII.upperI {
                // Outside strings, these bytes only start numbers (or non-finite tokens).
                return JSONSpan(kind: .number, range: i..<min(skipValue(from: i), range.upperBound))
            } else {
                i += 1
            }
        }
        return nil
    }

    /// The first string value in a value, depth-first, ignoring object keys.
    func firstString(in span: JSONSpan) -> JSONSpan? {
        let range = clamped(span.range)
        var i = range.lowerBound
        while i < range.upperBound {
            if bytes[i] == ASCII.quote {
                let end = skipString(from: i)
                let next = skipWhitespace(from: end, to: range.upperBound)
                // A string followed by a colon is a key.
                if next >= range.upperBound || bytes[next] != ASCII.colon {
                    return JSONSpan(kind: .string, range: i..<min(end, range.upperBound))
                }
                i = end
            } else {
                i += 1
            }
        }
        return nil
    }
}

/// The UTF-8 bytes of a JSON string's content with escapes decoded, one at a time, so keys can
/// be compared without materialising a `String`.
struct DecodedStringBytes: IteratorProtocol {
    let scanner: JSONScanner
    var position: Int
    let end: Int
    /// Bytes of a decoded `\u` escape still to hand out, lowest byte first.
    var pending: UInt32 = 0
    var pendingCount = 0

    init(scanner: JSONScanner, span: JSONSpan) {
        self.scanner = scanner
        let range = scanner.clamped(span.range)
        self.position = range.lowerBound + 1
        self.end = max(range.upperBound - 1, range.lowerBound + 1)
    }

    mutating func next() -> UInt8? {
        if pendingCount > 0 {
            let b = UInt8(truncatingIfNeeded: pending)
            pending >>= 8
            pendingCount -= 1
            return b
        }
        guard position < end else { return nil }
        let b = scanner.bytes[position]
        guard b == ASCII.backslash else {
            position += 1
            return b
        }
        let escaped = scanner.byte(position + 1)
        position += 2
        switch escaped {
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return ASCII.newline
        case UInt8(ascii: "r"): return ASCII.carriageReturn
        case UInt8(ascii: "t"): return ASCII.tab
        case ASCII.lowerU: break
        default: return escaped
        }
        var scalar = hex4(at: position) ?? 0xFFFD
        position += 4
        if (0xD800...0xDBFF).contains(scalar) {
            if scanner.byte(position) == ASCII.backslash, scanner.byte(position + 1) == ASCII.lowerU,
               let low = hex4(at: position + 2), (0xDC00...0xDFFF).contains(low) {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                position += 6
            } else {
                scalar = 0xFFFD
            }
        } else if (0xDC00...0xDFFF).contains(scalar) {
            scalar = 0xFFFD
        }
        return emit(scalar)
    }

    private func hex4(at index: Int) -> UInt32? {
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = ASCII.hexValue(scanner.byte(index + k)) else { return nil }
            value = value << 4 | digit
        }
        return value
    }

    private mutating func emit(_ scalar: UInt32) -> UInt8 {
        switch scalar {
        case 0..<0x80:
            return UInt8(scalar)
        case 0x80..<0x800:
            pending = 0x80 | (scalar & 0x3F)
            pendingCount = 1
            return UInt8(0xC0 | (scalar >> 6))
        case 0x800..<0x10000:
            pending = (0x80 | ((scalar >> 6) & 0x3F)) | (0x80 | (scalar & 0x3F)) << 8
            pendingCount = 2
            return UInt8(0xE0 | (scalar >> 12))
        default:
            pending = (0x80 | ((scalar >> 12) & 0x3F))
                | (0x80 | ((scalar >> 6) & 0x3F)) << 8
                | (0x80 | (scalar & 0x3F)) << 16
            pendingCount = 3
            return UInt8(0xF0 | (scalar >> 18))
        }
    }
}
