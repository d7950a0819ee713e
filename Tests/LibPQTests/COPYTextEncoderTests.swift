import LibPQ
import Testing

@Suite struct COPYTextEncoderTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a\tb", "a\\tb"),
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("back\\slash", "back\\\\slash"),
        ("\\N", "\\\\N"),
        ("\\.", "\\\\."),
        ("quotes \"'", "quotes \"'"),
        ("emoji 🦄 é", "emoji 🦄 é"),
        ("", ""),
        ("nul\u{0}x", "nul\u{FFFD}x"),
    ])
    func escapesValues(input: String, expected: String) {
        #expect(COPYTextEncoder.escape(input) == expected)
    }

    @Test func nullIsBackslashN() {
        #expect(COPYTextEncoder.escape(nil) == "\\N")
    }

    @Test func rowsAreTabSeparatedAndNewlineTerminated() {
        var e = COPYTextEncoder()
        e.append("a")
        e.append(Int64(-42))
        e.append(nil as String?)
        e.append(true)
        e.endRow()
        e.append(1.5)
        e.append(Double.nan)
        e.append(-Double.infinity)
        e.append(Int64.min)
        e.endRow()
        #expect(String(decoding: e.bytes, as: UTF8.self) == "a\t-42\t\\N\tt\n1.5\tNaN\t-Infinity\t-9223372036854775808\n")
        #expect(e.rowCount == 2)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01 00:00:00.000000+00"),
        (Int64(1), "1970-01-01 00:00:00.000001+00"),
        (Int64(-1), "1969-12-31 23:59:59.999999+00"),
        (Int64(951_782_400_000_000), "2000-02-29 00:00:00.000000+00"),
        (Int64(1_795_612_345_678_901), "2026-11-25 13:12:25.678901+00"),
        (Int64(253_402_300_799_999_999), "9999-12-31 23:59:59.999999+00"),
    ])
    func formatsTimestamps(micros: Int64, expected: String) {
        var e = COPYTextEncoder()
        e.appendTimestamp(micros: micros)
        #expect(String(decoding: e.bytes, as: UTF8.self) == expected)
    }
}
