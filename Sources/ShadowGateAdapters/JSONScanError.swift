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
