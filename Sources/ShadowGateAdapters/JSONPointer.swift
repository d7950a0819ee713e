/// An RFC 6901 JSON pointer in its string form, e.g. `/outputs/0/data`, or `/a~1b` for the
/// key `a/b` (`~1` is `/`, `~0` is `~`). The empty pointer names the whole document.
///
/// A token addresses an array element only when it is a decimal index without leading zeros
/// (`0`, `17`); `-` (one past the end) and anything else never resolve in an array. The URI
/// fragment form (`#/a`) is not accepted.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The pointer as written, escapes included.
    public let string: String

    /// Nil when `string` is not a pointer: it does not start with `/` (and is not empty), or
    /// has a `~` not followed by `0` or `1`.
    public init?(_ string: String) {
        guard Self.isValid(string.utf8) else { return nil }
        self.string = string
    }

    /// A pointer through the given unescaped reference tokens.
    public init(tokens: [String]) {
        self.string = tokens.map { "/" + Self.escape($0) }.joined()
    }

    /// The unescaped reference tokens, in order.
    public var tokens: [String] {
        guard !string.isEmpty else { return [] }
        return string.utf8.dropFirst().split(separator: ASCII.slash, omittingEmptySubsequences: false).map { token in
            var decoded = PointerTokenBytes(token)
            var bytes: [UInt8] = []
            while let b = decoded.next() { bytes.append(b) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public var description: String { string }

    /// A token escaped for use in a pointer.
    public static func escape(_ token: String) -> String {
        var out = ""
        for c in token.unicodeScalars {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func isValid<Bytes: Collection<UInt8>>(_ utf8: Bytes) -> Bool {
        guard let first = utf8.first else { return true }
        guard first == ASCII.slash else { return false }
        var afterTilde = false
        for b in utf8 {
            if afterTilde {
                guard b == ASCII.zero || b == ASCII.zero + 1 else { return false }
                afterTilde = false
            } else if b == ASCII.tilde {
                afterTilde = true
            }
        }
        return !afterTilde
    }

    /// The array index a token names, or nil.
    static func arrayIndex<Bytes: Collection<UInt8>>(_ token: Bytes) -> Int? {
        guard let first = token.first, ASCII.isDigit(first), token.count <= 18 else { return nil }
        if first == ASCII.zero, token.count > 1 { return nil }
        var value = 0
        for b in token {
            guard ASCII.isDigit(b) else { return nil }
            value = value * 10 + Int(b - ASCII.zero)
        }
        return value
    }
}

/// A pointer token's bytes with `~0`/`~1` decoded.
struct PointerTokenBytes<Bytes: Collection<UInt8>>: IteratorProtocol {
    var iterator: Bytes.Iterator

    init(_ token: Bytes) {
        iterator = token.makeIterator()
    }

    mutating func next() -> UInt8? {
        guard let b = iterator.next() else { return nil }
        guard b == ASCII.tilde else { return b }
        return iterator.next() == ASCII.zero ? ASCII.tilde : ASCII.slash
    }
}

extension JSONScanner {
    /// The value a pointer names inside `root`, or nil when any step is missing.
    public func value(at pointer: JSONPointer, in root: JSONSpan) -> JSONSpan? {
        var text = pointer.string
        return text.withUTF8 { resolve(pointerUTF8: $0, in: root) }
    }

    /// Resolves a syntactically valid pointer straight from its bytes, so a lookup allocates
    /// nothing.
    func resolve(pointerUTF8 pointer: UnsafeBufferPointer<UInt8>, in root: JSONSpan) -> JSONSpan? {
        var current = root
        var i = 0
        while i < pointer.count {
            let tokenStart = i + 1
            var tokenEnd = tokenStart
            while tokenEnd < pointer.count, pointer[tokenEnd] != ASCII.slash { tokenEnd += 1 }
            let token = UnsafeBufferPointer(rebasing: pointer[tokenStart..<tokenEnd])
            switch current.kind {
            case .object:
                var found: JSONSpan?
                for member in members(of: current) where key(member.key, equalsPointerToken: token) {
                    found = member.value
                }
                guard let found else { return nil }
                current = found
            case .array:
                guard let index = JSONPointer.arrayIndex(token), let element = element(index, in: current) else {
                    return nil
                }
                current = element
            default:
                return nil
            }
            i = tokenEnd
        }
        return current
    }

    private func key(_ key: JSONSpan, equalsPointerToken token: UnsafeBufferPointer<UInt8>) -> Bool {
        var decoded = DecodedStringBytes(scanner: self, span: key)
        var wanted = PointerTokenBytes(token)
        while true {
            let a = decoded.next()
            let b = wanted.next()
            if a != b { return false }
            if a == nil { return true }
        }
    }
}
