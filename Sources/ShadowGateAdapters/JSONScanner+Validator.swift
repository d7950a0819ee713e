/// Recursive-descent validator. A separate mutable struct so the public scanner stays a
/// stateless view and validation state never leaks between calls.
struct Validator {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    let allowsNonFinite: Bool
    var pos = 0
    var needsSanitizing = false

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int, allowsNonFinite: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.allowsNonFinite = allowsNonFinite
    }

    /// The byte at `pos`, or 0 past the end. 0 is invalid everywhere in JSON, so running off
    /// the end always lands in an error path, which then reports `unexpectedEnd`.
    @inline(__always) func peek() -> UInt8 {
        pos < bytes.count ? bytes[pos] : 0
    }

    @inline(__always) func peek(_ index: Int) -> UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    func error(_ reason: JSONScanError.Reason, at offset: Int) -> JSONScanError {
        offset >= bytes.count ? JSONScanError(.unexpectedEnd, at: bytes.count) : JSONScanError(reason, at: offset)
    }

    @inline(__always) mutating func skipWhitespace() {
        while pos < bytes.count, ASCII.isWhitespace(bytes[pos]) { pos += 1 }
    }

    mutating func value(depth: Int) throws(JSONScanError) -> JSONKind {
        switch peek() {
        case ASCII.openBrace:
            try object(depth: depth + 1) { _, _ in }
            return .object
        case ASCII.openBracket:
            try array(depth: depth + 1)
            return .array
        case ASCII.quote:
            try string()
            return .string
        case ASCII.minus, ASCII.zero...ASCII.nine:
            try number()
            return .number
        case ASCII.lowerT:
            try literal("true")
            return .bool
        case ASCII.lowerF:
            try literal("false")
            return .bool
        case ASCII.lowerN:
            try literal("null")
            return .null
        case ASCII.upperN where allowsNonFinite:
            try literal("NaN")
            needsSanitizing = true
            return .number
        case ASCII.upperI where allowsNonFinite:
            try literal("Infinity")
            needsSanitizing = true
            return .number
        default:
            throw error(.unexpectedByte, at: pos)
        }
    }

    mutating func literal(_ text: StaticString) throws(JSONScanError) {
        let count = text.utf8CodeUnitCount
        let expected = text.utf8Start
        for k in 0..<count where peek(pos + k) != expected[k] {
            throw error(.unexpectedByte, at: pos + k)
        }
        pos += count
    }

    mutating func object(depth: Int, visit: (JSONSpan, JSONSpan) -> Void) throws(JSONScanError) {
        if depth > maxDepth { throw error(.tooDeep, at: pos) }
        pos += 1
        skipWhitespace()
        if peek() == ASCII.closeBrace {
            pos += 1
            return
        }
        while true {
            guard peek() == ASCII.quote else { throw error(.unexpectedByte, at: pos) }
            let keyStart = pos
            try string()
            let key = JSONSpan(kind: .string, range: keyStart..<pos)
            skipWhitespace()
            guard peek() == ASCII.colon else { throw error(.unexpectedByte, at: pos) }
            pos += 1
            skipWhitespace()
            let valueStart = pos
            let kind = try value(depth: depth)
            visit(key, JSONSpan(kind: kind, range: valueStart..<pos))
            skipWhitespace()
            switch peek() {
            case ASCII.comma:
                pos += 1
                skipWhitespace()
            case ASCII.closeBrace:
                pos += 1
                return
            default:
                throw error(.unexpectedByte, at: pos)
            }
        }
    }

    mutating func array(depth: Int) throws(JSONScanError) {
        if depth > maxDepth { throw error(.tooDeep, at: pos) }
        pos += 1
        skipWhitespace()
        if peek() == ASCII.closeBracket {
            pos += 1
            return
        }
        while true {
            _ = try value(depth: depth)
            skipWhitespace()
            switch peek() {
            case ASCII.comma:
                pos += 1
                skipWhitespace()
            case ASCII.closeBracket:
                pos += 1
                return
            default:
                throw error(.unexpectedByte, at: pos)
            }
        }
    }

    /// `pos` at the opening quote; leaves `pos` after the closing quote.
    mutating func string() throws(JSONScanError) {
        pos += 1
        let count = bytes.count
        while true {
            // Plain ASCII is the overwhelmingly common case; keep its loop tight.
            while pos < count {
                let b = bytes[pos]
                if b < 0x20 || b >= 0x80 || b == ASCII.quote || b == ASCII.backslash { break }
                pos += 1
            }
            guard pos < count else { throw JSONScanError(.unexpectedEnd, at: count) }
            let b = bytes[pos]
            if b == ASCII.quote {
                pos += 1
                return
            } else if b == ASCII.backslash {
                try escape()
            } else if b < 0x20 {
                throw error(.controlCharacter, at: pos)
            } else {
                try utf8Sequence(lead: b)
            }
        }
    }

    /// `pos` at a backslash.
    mutating func escape() throws(JSONScanError) {
        let start = pos
        switch peek(pos + 1) {
        case ASCII.quote, ASCII.backslash, ASCII.slash,
             UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case ASCII.lowerU:
            let unit = try hex4(at: pos + 2, escapeStart: start)
            pos += 6
            switch unit {
            case 0:
                // Valid JSON, but PostgreSQL text (and so jsonb) cannot hold U+0000.
                needsSanitizing = true
            case 0xD800...0xDBFF:
                guard peek(pos) == ASCII.backslash, peek(pos + 1) == ASCII.lowerU else {
                    throw error(.unpairedSurrogate, at: start)
                }
                let low = try hex4(at: pos + 2, escapeStart: pos)
                guard (0xDC00...0xDFFF).contains(low) else { throw error(.unpairedSurrogate, at: start) }
                pos += 6
            case 0xDC00...0xDFFF:
                throw error(.unpairedSurrogate, at: start)
            default:
                break
            }
        default:
            throw error(.invalidEscape, at: start)
        }
    }

    func hex4(at index: Int, escapeStart: Int) throws(JSONScanError) -> UInt32 {
        var unit: UInt32 = 0
        for k in 0..<4 {
            guard let digit = ASCII.hexValue(peek(index + k)) else {
                if index + k >= bytes.count { throw JSONScanError(.unexpectedEnd, at: bytes.count) }
                throw JSONScanError(.invalidEscape, at: escapeStart)
            }
            unit = unit << 4 | digit
        }
        return unit
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func utf8Sequence(lead: UInt8) throws(JSONScanError) {
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw error(.invalidUTF8, at: pos)
        }
        guard secondRange.contains(peek(pos + 1)) else { throw error(.invalidUTF8, at: pos) }
        for k in 2..<length where !(0x80...0xBF).contains(peek(pos + k)) {
            throw error(.invalidUTF8, at: pos)
        }
        pos += length
    }

    /// RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws(JSONScanError) {
        if peek() == ASCII.minus {
            pos += 1
            if allowsNonFinite, peek() == ASCII.upperI {
                try literal("Infinity")
                needsSanitizing = true
                return
            }
        }
        var integerDigits = 0
        switch peek() {
        case ASCII.zero:
            pos += 1
            integerDigits = 1
            // A leading zero must stand alone: `01` is not JSON.
            if ASCII.isDigit(peek()) { throw error(.invalidNumber, at: pos) }
        case ASCII.zero + 1...ASCII.nine:
            let start = pos
            while ASCII.isDigit(peek()) { pos += 1 }
            integerDigits = pos - start
        default:
            throw error(.invalidNumber, at: pos)
        }
        var fractionDigits = 0
        if peek() == ASCII.dot {
            pos += 1
            let start = pos
            while ASCII.isDigit(peek()) { pos += 1 }
            fractionDigits = pos - start
            if fractionDigits == 0 { throw error(.invalidNumber, at: pos) }
        }
        var exponent = 0
        let e = peek()
        if e == ASCII.lowerE || e == ASCII.upperE {
            pos += 1
            var negative = false
            if peek() == ASCII.minus {
                negative = true
                pos += 1
            } else if peek() == ASCII.plus {
                pos += 1
            }
            guard ASCII.isDigit(peek()) else { throw error(.invalidNumber, at: pos) }
            while ASCII.isDigit(peek()) {
                // Saturate: only whether it is beyond numeric's range matters.
                if exponent < 10_000_000 { exponent = exponent * 10 + Int(peek() - ASCII.zero) }
                pos += 1
            }
            if negative { exponent = -exponent }
        }
        if !numericCanHold(integerDigits: integerDigits, fractionDigits: fractionDigits, exponent: exponent) {
            needsSanitizing = true
        }
    }
}

/// Whether PostgreSQL `numeric` accepts a number of this shape. Conservative: it may refuse a
/// few numbers PostgreSQL would take (leading zeros count as digits), never the other way.
@inline(__always)
func numericCanHold(integerDigits: Int, fractionDigits: Int, exponent: Int) -> Bool {
    integerDigits + exponent <= numericMaxIntegerDigits && fractionDigits - exponent <= numericMaxScale
}

// PostgreSQL `numeric` (hence `jsonb`) refuses numbers with more than this many digits before
// the decimal point or after it (measured on PostgreSQL 15: `1e131071` is accepted,
// `1e131072` and `1e-16384` overflow).
let numericMaxIntegerDigits = 131_072
let numericMaxScale = 16_383
