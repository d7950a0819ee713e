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
