// Rewriting for PostgreSQL `jsonb`. Pair outputs and features are stored as jsonb, and one
// value jsonb refuses would fail a whole COPY batch, so everything stored goes through here.

extension JSONScanner {
    /// The JSON text of a value, rewritten so that PostgreSQL `jsonb` accepts it:
    /// `NaN`, `Infinity` and `-Infinity` become `null`, numbers beyond `numeric`'s range
    /// become `null`, and `\u0000` escapes become `\ufffd`. Everything else, whitespace
    /// included, is copied as is.
    ///
    /// Returns nil when the rewritten text is longer than `maxBytes`, without building it.
    public func sanitizedText(_ span: JSONSpan, maxBytes: Int = .max) -> String? {
        sanitizedText(span, maxBytes: maxBytes, mayNeedRewriting: true)
    }

    /// `mayNeedRewriting: false` (from ``Document/needsSanitizing``) skips the scan for
    /// rewrites, leaving one copy of the bytes.
    func sanitizedText(_ span: JSONSpan, maxBytes: Int, mayNeedRewriting: Bool) -> String? {
        let range = clamped(span.range)
        guard mayNeedRewriting else {
            return range.count <= maxBytes ? text(span) : nil
        }
        var counter = CountingSink()
        let rewrites = writeSanitized(range, into: &counter)
        guard counter.count <= maxBytes else { return nil }
        if rewrites == 0 { return text(span) }
        return String(unsafeUninitializedCapacity: counter.count) { buffer in
            var sink = BufferSink(buffer: buffer)
            _ = writeSanitized(range, into: &sink)
            return sink.count
        }
    }

    /// Writes the sanitized text of `range` into `sink`; returns how many rewrites it made.
    func writeSanitized<Sink: ByteSink>(_ range: Range<Int>, into sink: inout Sink) -> Int {
        var rewrites = 0
        var i = range.lowerBound
        let end = range.upperBound
        var runStart = i

        func flush(_ to: Int, _ sink: inout Sink) {
            let upper = min(to, end)
            if runStart < upper {
                sink.write(UnsafeRawBufferPointer(rebasing: bytes[runStart..<upper]))
            }
        }

        while i < end {
            let b = bytes[i]
            if b == ASCII.quote {
                var j = i + 1
                while j < end {
                    let c = bytes[j]
                    if c == ASCII.quote { break }
                    if c == ASCII.backslash {
                        if isNullEscape(at: j) {
                            flush(j, &sink)
                            sink.write(#"\ufffd"#)
                            rewrites += 1
                            j += 6
                            runStart = j
                        } else {
                            j += 2
                        }
                        continue
                    }
                    j += 1
                }
                i = j + 1
            } else if b == ASCII.minus || ASCII.isDigit(b) || b == ASCII.upperN || b == ASCII.upperI {
                let tokenEnd = min(skipValue(from: i), end)
                if !jsonbAcceptsNumber(i..<tokenEnd) {
                    flush(i, &sink)
                    sink.write("null")
                    rewrites += 1
                    runStart = tokenEnd
                }
                i = tokenEnd
            } else {
                i += 1
            }
        }
        flush(end, &sink)
        return rewrites
    }

    private func isNullEscape(at index: Int) -> Bool {
        byte(index + 1) == ASCII.lowerU && byte(index + 2) == ASCII.zero && byte(index + 3) == ASCII.zero
            && byte(index + 4) == ASCII.zero && byte(index + 5) == ASCII.zero
    }

    /// Whether a validated number token is one PostgreSQL `numeric` can store.
    private func jsonbAcceptsNumber(_ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        if byte(i) == ASCII.minus { i += 1 }
        let first = byte(i)
        if first == ASCII.upperN || first == ASCII.upperI { return false }
        let integerStart = i
        while i < end, ASCII.isDigit(bytes[i]) { i += 1 }
        let integerDigits = i - integerStart
        var fractionDigits = 0
        if i < end, bytes[i] == ASCII.dot {
            i += 1
            let fractionStart = i
            while i < end, ASCII.isDigit(bytes[i]) { i += 1 }
            fractionDigits = i - fractionStart
        }
        var exponent = 0
        if i < end, bytes[i] == ASCII.lowerE || bytes[i] == ASCII.upperE {
            i += 1
            var negative = false
            if i < end, bytes[i] == ASCII.minus || bytes[i] == ASCII.plus {
                negative = bytes[i] == ASCII.minus
                i += 1
            }
            while i < end, ASCII.isDigit(bytes[i]) {
                if exponent < 10_000_000 { exponent = exponent * 10 + Int(bytes[i] - ASCII.zero) }
                i += 1
            }
            if negative { exponent = -exponent }
        }
        return numericCanHold(integerDigits: integerDigits, fractionDigits: fractionDigits, exponent: exponent)
    }
}

protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer)
}

extension ByteSink {
    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

/// Measures output so a too-long value is refused before anything is allocated.
struct CountingSink: ByteSink {
    var count = 0

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
    }
}

/// Writes into a preallocated buffer; drops what does not fit rather than overrun it.
struct BufferSink: ByteSink {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        let n = min(bytes.count, buffer.count - count)
        guard n > 0, let base = buffer.baseAddress, let source = bytes.baseAddress else { return }
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: n)
        count += n
    }
}
