/// What the rows of a ``PairBatch`` are: pairs for `shadowgate.pairs` or labels for `shadowgate.labels`.
enum PairLogRowKind: String, Sendable {
    case pairs, labels
}

/// Encoded COPY text rows of one kind plus where each row ends, so a batch can be split to find a bad row.
struct PairBatch: Sendable, Equatable {
    var kind: PairLogRowKind
    var bytes: [UInt8]
    /// Offset just past each row's terminating newline.
    var rowEnds: [Int]

    var rowCount: Int { rowEnds.count }

    init(kind: PairLogRowKind = .pairs, bytes: [UInt8], rowEnds: [Int]) {
        self.kind = kind
        self.bytes = bytes
        self.rowEnds = rowEnds
    }

    /// Rows found by scanning complete newline-terminated lines (COPY text escapes every newline
    /// inside a value, so a raw newline always ends a row). Trailing bytes without a newline are ignored.
    init(kind: PairLogRowKind, scanning bytes: [UInt8]) {
        var ends: [Int] = []
        for (i, b) in bytes.enumerated() where b == 0x0A { ends.append(i + 1) }
        let complete = ends.last ?? 0
        self.kind = kind
        self.bytes = complete == bytes.count ? bytes : Array(bytes[..<complete])
        rowEnds = ends
    }

    /// The rows `range` of this batch as a batch of their own.
    func rows(_ range: Range<Int>) -> PairBatch {
        let start = range.lowerBound == 0 ? 0 : rowEnds[range.lowerBound - 1]
        let end = rowEnds[range.upperBound - 1]
        return PairBatch(kind: kind, bytes: Array(bytes[start..<end]), rowEnds: rowEnds[range].map { $0 - start })
    }
}
