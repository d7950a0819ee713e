/// Instants (seconds since the Unix epoch) as UTC text, without locale or time-zone database:
/// the report must read the same wherever it is generated.
public enum UTCTime {
    /// `2026-05-01 12:34:56 UTC`
    public static func dateTime(_ epoch: Double) -> String {
        let p = parts(epoch)
        return "\(p.date) \(two(p.hour)):\(two(p.minute)):\(two(p.second)) UTC"
    }

    /// `2026-05-01`
    public static func date(_ epoch: Double) -> String { parts(epoch).date }

    /// `12:34`, or `12:34:56` when `seconds` is set.
    public static func clock(_ epoch: Double, seconds: Bool = false) -> String {
        let p = parts(epoch)
        return "\(two(p.hour)):\(two(p.minute))" + (seconds ? ":\(two(p.second))" : "")
    }

    /// `05-01 12:34`, for axes that span more than a day.
    public static func dayAndClock(_ epoch: Double) -> String {
        let p = parts(epoch)
        return "\(two(p.month))-\(two(p.day)) \(two(p.hour)):\(two(p.minute))"
    }

    private struct Parts {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
        var date: String { "\(year)-\(UTCTime.two(month))-\(UTCTime.two(day))" }
    }

    private static func parts(_ epoch: Double) -> Parts {
        let total = Int((epoch).rounded(.down))
        var days = total / 86_400
        var secondOfDay = total % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        // Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return Parts(year: year, month: month, day: day,
                     hour: secondOfDay / 3600, minute: secondOfDay % 3600 / 60, second: secondOfDay % 60)
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
