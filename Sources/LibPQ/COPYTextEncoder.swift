/// Builds PostgreSQL `COPY … FROM STDIN` text-format data, one field at a time.
///
/// Format (postgresql.org/docs/15/sql-copy.html): fields separated by a tab, rows ended by `\n`,
/// SQL NULL written as `\N`; inside a value `\` `\t` `\n` `\r` are written as `\\` `\t` `\n` `\r`.
/// Every byte of a string is otherwise sent as is (UTF-8). PostgreSQL text cannot hold NUL, so
/// a NUL character is replaced by U+FFFD (the encoder never produces data the server rejects for
/// that reason). Pure value type: no I/O, no allocation beyond the growing buffer.
public struct COPYTextEncoder: Sendable {
    /// The encoded rows so far.
    public var bytes: [UInt8]
    /// Complete rows in `bytes`.
    public private(set) var rowCount: Int = 0
    private var atRowStart = true

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        rowCount += 1
        atRowStart = true
    }

    /// Removes all rows, keeping the buffer's capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rowCount = 0
        atRowStart = true
    }

    @inline(__always) private mutating func separate() {
        if atRowStart { atRowStart = false } else { bytes.append(0x09) }
    }

    /// Appends SQL NULL.
    public mutating func appendNull() {
        separate()
        bytes.append(0x5C); bytes.append(0x4E)  // \N
    }

    /// Appends a text value (escaped), or NULL.
    public mutating func append(_ value: String?) {
        guard var value else { return appendNull() }
        separate()
        if let done: Void = value.utf8.withContiguousStorageIfAvailable({ Self.appendEscaped($0, to: &bytes) }) {
            return done
        }
        value.makeContiguousUTF8()
        value.utf8.withContiguousStorageIfAvailable { Self.appendEscaped($0, to: &bytes) }
    }

    /// Appends an integer, or NULL.
    public mutating func append(_ value: Int64?) {
        guard let value else { return appendNull() }
        separate()
        Self.appendDecimal(value, to: &bytes)
    }

    /// Appends an integer, or NULL.
    public mutating func append(_ value: Int?) { append(value.map { Int64($0) }) }

    /// Appends a double in a form `float8` reads back exactly (`NaN`, `Infinity`, `-Infinity` for
    /// the special values), or NULL.
    public mutating func append(_ value: Double?) {
        guard let value else { return appendNull() }
        separate()
        if value.isNaN { bytes.append(contentsOf: "NaN".utf8) }
        else if value == .infinity { bytes.append(contentsOf: "Infinity".utf8) }
        else if value == -.infinity { bytes.append(contentsOf: "-Infinity".utf8) }
        else { bytes.append(contentsOf: value.description.utf8) }
    }

    /// Appends `t` or `f`, or NULL.
    public mutating func append(_ value: Bool?) {
        guard let value else { return appendNull() }
        separate()
        bytes.append(value ? 0x74 : 0x66)
    }

    /// Appends a `timestamptz` given in microseconds since the Unix epoch, as
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` (UTC), for years 0001–9999.
    public mutating func appendTimestamp(micros: Int64) {
        separate()
        Self.appendTimestamp(micros: micros, to: &bytes)
    }

    // MARK: - pure helpers

    /// The COPY text-format form of one value (no surrounding separators); `nil` gives `\N`.
    public static func escape(_ value: String?) -> String {
        var e = COPYTextEncoder()
        e.append(value)
        return String(decoding: e.bytes, as: UTF8.self)
    }

    static func appendEscaped(_ src: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = src.count
        while i < n {
            let b = src[i]
            if b > 0x5C || (b != 0x5C && b > 0x0D) || (b != 0 && b != 0x09 && b != 0x0A && b != 0x0D && b != 0x5C) {
                i += 1
                continue
            }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<i])) }
            switch b {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            default: out.append(0xEF); out.append(0xBF); out.append(0xBD)  // NUL → U+FFFD
            }
            i += 1
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<n])) }
    }

    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value == .min { out.append(contentsOf: "-9223372036854775808".utf8); return }
        var v = value
        if v < 0 { out.append(0x2D); v = -v }
        if v < 10 { out.append(0x30 + UInt8(v)); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var len = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while v > 0 { buf[19 - len] = 0x30 + UInt8(v % 10); v /= 10; len += 1 }
            out.append(contentsOf: buf[(20 - len)...])
        }
    }

    @inline(__always) static func appendPadded(_ v: Int64, width: Int, to out: inout [UInt8]) {
        var div: Int64 = 1
        for _ in 1..<width { div *= 10 }
        var v = v
        while div > 0 { out.append(0x30 + UInt8((v / div) % 10)); v %= div; div /= 10 }
    }

    static func appendTimestamp(micros: Int64, to out: inout [UInt8]) {
        let perDay: Int64 = 86_400_000_000
        var days = micros / perDay
        var rem = micros % perDay
        if rem < 0 { rem += perDay; days -= 1 }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        let secs = rem / 1_000_000
        let frac = rem % 1_000_000
        appendPadded(y, width: 4, to: &out); out.append(0x2D)
        appendPadded(m, width: 2, to: &out); out.append(0x2D)
        appendPadded(d, width: 2, to: &out); out.append(0x20)
        appendPadded(secs / 3600, width: 2, to: &out); out.append(0x3A)
        appendPadded((secs / 60) % 60, width: 2, to: &out); out.append(0x3A)
        appendPadded(secs % 60, width: 2, to: &out); out.append(0x2E)
        appendPadded(frac, width: 6, to: &out)
        out.append(0x2B); out.append(0x30); out.append(0x30)  // +00
    }
}
