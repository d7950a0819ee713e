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
