/// Why a byte sequence was rejected as JSON, and where.
///
/// `offset` is the 0-based index of the first byte that made the text invalid (the buffer's
/// length when the text ended early). `description` is short enough to store with a pair.
public struct JSONScanError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// Nothing but whitespace.
        case empty
        /// The text ended inside a value (truncated body).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedByte
        /// A malformed number (`01`, `1.`, `-`, `1e`).
        case invalidNumber
        /// A backslash escape JSON does not define, or a `\u` without four hex digits.
        case invalidEscape
        /// A `\u` escape of one half of a UTF-16 surrogate pair without the other half.
        case unpairedSurrogate
        /// A string byte sequence that is not UTF-8.
        case invalidUTF8
        /// A raw byte below 0x20 inside a string.
        case controlCharacter
        /// Containers nested deeper than ``JSONScanner/Options/maxDepth``.
        case tooDeep
        /// Something other than whitespace after the value (e.g. OIP binary tensor data).
        case trailingData
    }

    public var reason: Reason
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        switch reason {
        case .empty: "empty body"
        case .unexpectedEnd: "truncated JSON at byte \(offset)"
        case .unexpectedByte: "not JSON at byte \(offset)"
        case .invalidNumber: "not JSON at byte \(offset): invalid number"
        case .invalidEscape: "not JSON at byte \(offset): invalid string escape"
        case .unpairedSurrogate: "not JSON at byte \(offset): unpaired UTF-16 surrogate"
        case .invalidUTF8: "not JSON at byte \(offset): invalid UTF-8"
        case .controlCharacter: "not JSON at byte \(offset): control character in string"
        case .tooDeep: "not JSON at byte \(offset): nested too deeply"
        case .trailingData: "not JSON at byte \(offset): trailing data"
        }
    }
}

/// The type of a JSON value, as told by its first byte.
public enum JSONKind: Sendable, Hashable {
    case object, array, string, number, bool, null
}

/// Where one value sits in a scanned buffer: its kind and the byte range of its text, without
/// surrounding whitespace. Strings include their quotes.
public struct JSONSpan: Sendable, Hashable {
    public var kind: JSONKind
    public var range: Range<Int>

    public init(kind: JSONKind, range: Range<Int>) {
        self.kind = kind
        self.range = range
    }
}

/// A validating, allocation-free JSON scanner over borrowed bytes.
///
/// The scanner never copies the input: it hands out ``JSONSpan``s (byte ranges) and decodes
/// only what a caller asks for. That keeps reading a prediction out of a response to a couple
/// of linear passes over the body, which is what the data path's per-request budget allows.
///
/// Use ``validate()`` first. It accepts exactly RFC 8259 JSON text (one value, optional
/// whitespace around it, UTF-8, no trailing bytes) and, with
/// ``Options/allowsNonFiniteNumbers``, the `NaN`, `Infinity` and `-Infinity` tokens that
/// TensorFlow Serving and Python emit. It also rejects what PostgreSQL's `jsonb` rejects on
/// input anyway: `\u` escapes of unpaired surrogates. Any input, including hostile or truncated
/// bytes, either validates or throws a ``JSONScanError``; the scanner never traps and never
/// recurses deeper than ``Options/maxDepth``.
///
/// The navigation methods (``members(of:)``, ``string(_:)``, ``value(at:in:)``…) assume spans
/// that came from this scanner over text that validated. They do not re-check the grammar, so
/// on other input their answers are unspecified, but they never read outside the buffer and
/// always terminate.
///
/// Not `Sendable`: it borrows memory that is only valid inside the caller's
/// `withUnsafeBytes`-style closure. Results (`JSONSpan`, `String`, `Double`) are plain values.
public struct JSONScanner {
    public struct Options: Sendable, Hashable {
        /// Deepest container nesting accepted; deeper text is rejected with ``JSONScanError/Reason/tooDeep``.
        /// Bounds the recursion so hostile bodies cannot overflow the stack.
        public var maxDepth: Int
        /// Accept `NaN`, `Infinity` and `-Infinity` as numbers.
        public var allowsNonFiniteNumbers: Bool

        public init(maxDepth: Int = 128, allowsNonFiniteNumbers: Bool = false) {
            self.maxDepth = maxDepth
            self.allowsNonFiniteNumbers = allowsNonFiniteNumbers
        }

        /// RFC 8259 only.
        public static let strict = Options()
        /// RFC 8259 plus the non-finite number tokens model servers emit.
        public static let lenient = Options(allowsNonFiniteNumbers: true)
    }

    /// The result of a successful ``JSONScanner/validate()``.
    public struct Document: Sendable, Hashable {
        /// The top-level value.
        public var root: JSONSpan
        /// True when the text holds something PostgreSQL `jsonb` refuses although the scanner
        /// accepted it: non-finite tokens, `\u0000`, or numbers beyond `numeric`'s range.
        /// ``JSONScanner/sanitizedText(_:maxBytes:)`` rewrites those.
        public var needsSanitizing: Bool

        public init(root: JSONSpan, needsSanitizing: Bool) {
            self.root = root
            self.needsSanitizing = needsSanitizing
        }
    }

    public let bytes: UnsafeRawBufferPointer
    public let options: Options

    public init(_ bytes: UnsafeRawBufferPointer, options: Options = .strict) {
        self.bytes = bytes
        self.options = options
    }

    /// Checks that the whole buffer is one JSON value with optional surrounding whitespace.
    public func validate() throws(JSONScanError) -> Document {
        try validate { _, _ in }
    }

    /// Like ``validate()``, and also hands over each member of a root object as soon as it is
    /// validated, so reading top-level fields costs no second pass over the body. Members are
    /// reported before the whole text is known to be valid: use them only if this returns.
    public func validate(
        visitingRootMembers visit: (_ key: JSONSpan, _ value: JSONSpan) -> Void
    ) throws(JSONScanError) -> Document {
        var validator = Validator(
            bytes: bytes,
            maxDepth: options.maxDepth,
            allowsNonFinite: options.allowsNonFiniteNumbers
        )
        validator.skipWhitespace()
        guard validator.pos < bytes.count else { throw JSONScanError(.empty, at: bytes.count) }
        let start = validator.pos
        let kind: JSONKind
        if validator.peek() == ASCII.openBrace {
            try validator.object(depth: 1, visit: visit)
            kind = .object
        } else {
            kind = try validator.value(depth: 0)
        }
        let end = validator.pos
        validator.skipWhitespace()
        guard validator.pos == bytes.count else {
            throw JSONScanError(.trailingData, at: validator.pos)
        }
        return Document(
            root: JSONSpan(kind: kind, range: start..<end),
            needsSanitizing: validator.needsSanitizing
        )
    }
}

@available(*, unavailable, message: "JSONScanner borrows bytes valid only inside a closure")
extension JSONScanner: Sendable {}

// MARK: - Byte constants

// Computed, not `static let`: stored statics are lazily initialised globals whose every read
// goes through an accessor, which made the hot loops several times slower.
enum ASCII {
    @inline(__always) static var quote: UInt8 { UInt8(ascii: "\"") }
    @inline(__always) static var backslash: UInt8 { UInt8(ascii: "\\") }
    @inline(__always) static var slash: UInt8 { UInt8(ascii: "/") }
    @inline(__always) static var colon: UInt8 { UInt8(ascii: ":") }
    @inline(__always) static var comma: UInt8 { UInt8(ascii: ",") }
    @inline(__always) static var openBrace: UInt8 { UInt8(ascii: "{") }
    @inline(__always) static var closeBrace: UInt8 { UInt8(ascii: "}") }
    @inline(__always) static var openBracket: UInt8 { UInt8(ascii: "[") }
    @inline(__always) static var closeBracket: UInt8 { UInt8(ascii: "]") }
    @inline(__always) static var minus: UInt8 { UInt8(ascii: "-") }
    @inline(__always) static var plus: UInt8 { UInt8(ascii: "+") }
    @inline(__always) static var dot: UInt8 { UInt8(ascii: ".") }
    @inline(__always) static var zero: UInt8 { UInt8(ascii: "0") }
    @inline(__always) static var nine: UInt8 { UInt8(ascii: "9") }
    @inline(__always) static var space: UInt8 { UInt8(ascii: " ") }
    @inline(__always) static var tab: UInt8 { UInt8(ascii: "\t") }
    @inline(__always) static var newline: UInt8 { UInt8(ascii: "\n") }
    @inline(__always) static var carriageReturn: UInt8 { UInt8(ascii: "\r") }
    @inline(__always) static var lowerE: UInt8 { UInt8(ascii: "e") }
    @inline(__always) static var upperE: UInt8 { UInt8(ascii: "E") }
    @inline(__always) static var lowerU: UInt8 { UInt8(ascii: "u") }
    @inline(__always) static var tilde: UInt8 { UInt8(ascii: "~") }
    @inline(__always) static var upperN: UInt8 { UInt8(ascii: "N") }
    @inline(__always) static var upperI: UInt8 { UInt8(ascii: "I") }
    @inline(__always) static var lowerT: UInt8 { UInt8(ascii: "t") }
    @inline(__always) static var lowerF: UInt8 { UInt8(ascii: "f") }
    @inline(__always) static var lowerN: UInt8 { UInt8(ascii: "n") }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- zero <= 9 }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool {
        b == space || b == newline || b == carriageReturn || b == tab
    }

    /// The value of a hex digit, or nil.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }
}

// PostgreSQL `numeric` (hence `jsonb`) refuses numbers with more than this many digits before
// the decimal point or after it (measured on PostgreSQL 15: `1e131071` is accepted,
// `1e131072` and `1e-16384` overflow).
let numericMaxIntegerDigits = 131_072
let numericMaxScale = 16_383

// MARK: - Validation

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
