import ShadowGateReport
import Testing

@Suite("Time axis")
struct TimeTicksTests {
    // 2026-05-01 12:00:00 UTC
    static let noon = 1_777_636_800.0

    @Test("an hour gets ticks on round UTC times, no more than asked for")
    func hour() {
        let start = Self.noon - 3600 + 17, end = Self.noon + 9
        let ticks = TimeTicks(start: start, end: end, maxCount: 10)
        #expect(ticks.step == 600)
        #expect(ticks.values.count == 6)
        #expect(ticks.values.allSatisfy { $0.truncatingRemainder(dividingBy: 600) == 0 && $0 >= start && $0 <= end })
        #expect(ticks.values.map { ticks.label($0, span: end - start) } == ["11:10", "11:20", "11:30", "11:40", "11:50", "12:00"])
    }

    @Test("short spans show seconds, spans over a day show the date")
    func labels() {
        let minute = TimeTicks(start: Self.noon, end: Self.noon + 60, maxCount: 4)
        #expect(minute.step == 15)
        #expect(minute.label(Self.noon + 15, span: 60) == "12:00:15")
        let week = TimeTicks(start: Self.noon - 7 * 86_400, end: Self.noon, maxCount: 10)
        #expect(week.step == 86_400)
        #expect(week.label(week.values[0], span: 7 * 86_400) == "04-25 00:00")
    }

    @Test("UTC text of an instant")
    func utc() {
        #expect(UTCTime.dateTime(Self.noon + 3723) == "2026-05-01 13:02:03 UTC")
        #expect(UTCTime.dateTime(0) == "1970-01-01 00:00:00 UTC")
        #expect(UTCTime.dateTime(951_782_400) == "2000-02-29 00:00:00 UTC")
        #expect(UTCTime.dateTime(-1) == "1969-12-31 23:59:59 UTC")
    }
}
