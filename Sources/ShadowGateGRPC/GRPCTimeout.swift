import NIOCore

/// The `grpc-timeout` header: at most 8 digits and a unit (H, M, S, m, u, n).
enum GRPCTimeout {
    /// The duration in a header value; nil when it is malformed (the header is then ignored).
    static func parse(_ value: String) -> TimeAmount? {
        guard let unit = value.last, value.count >= 2, value.count <= 9 else { return nil }
        guard let amount = Int64(value.dropLast()), amount >= 0 else { return nil }
        switch unit {
        case "H": return .hours(amount)
        case "M": return .minutes(amount)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }

    /// A header value for `amount` (milliseconds, rounded up; microseconds below 1 ms).
    static func header(_ amount: TimeAmount) -> String {
        let nanos = max(amount.nanoseconds, 1)
        if nanos < 1_000_000 { return "\((nanos + 999) / 1000)u" }
        let millis = (nanos + 999_999) / 1_000_000
        return millis < 100_000_000 ? "\(millis)m" : "\(min((millis + 999) / 1000, 99_999_999))S"
    }
}
