/// How a chart writes the values of its y axis and of its hover texts.
public enum ChartValueFormat: Sendable, Equatable {
    /// A fraction 0…1 shown as a percentage (accuracy 0.85 → `85%`).
    case fractionAsPercent
    /// A value already in percent (canary share 25 → `25%`).
    case percent
    /// A plain number (KS D, PSI).
    case number
    /// Milliseconds (`12.5 ms`).
    case milliseconds

    /// A tick label: as many decimals as ticks `step` apart need.
    func tick(_ value: Double, step: Double) -> String {
        switch self {
        case .fractionAsPercent: return Self.fixed(value * 100, decimals: LinearScale.decimals(forStep: step * 100)) + "%"
        case .percent: return Self.fixed(value, decimals: LinearScale.decimals(forStep: step)) + "%"
        case .number: return Self.fixed(value, decimals: LinearScale.decimals(forStep: step))
        case .milliseconds: return Self.fixed(value, decimals: LinearScale.decimals(forStep: step)) + " ms"
        }
    }

    /// A value in a hover text: a little more precise than the ticks.
    func value(_ value: Double) -> String {
        switch self {
        case .fractionAsPercent: return Self.fixed(value * 100, decimals: 1) + "%"
        case .percent: return Self.fixed(value, decimals: 2).replacingTrailingZeros() + "%"
        case .number: return Self.fixed(value, decimals: 4).replacingTrailingZeros()
        case .milliseconds: return Self.fixed(value, decimals: 1) + " ms"
        }
    }

    /// `value` rounded to `decimals` places, without locale (always a `.`), `-0` shown as `0`.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int64(rounded)) }
        let negative = rounded < 0
        let units = Int64((abs(rounded) * scale).rounded())
        let whole = units / Int64(scale)
        var fraction = String(units % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return (negative && units != 0 ? "-" : "") + "\(whole).\(fraction)"
    }
}

extension String {
    /// `12.50` → `12.5`, `3.00` → `3`.
    func replacingTrailingZeros() -> String {
        guard contains(".") else { return self }
        var s = self
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
