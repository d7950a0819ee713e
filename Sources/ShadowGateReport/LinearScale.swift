import Foundation

/// Maps a numeric domain onto pixels, and picks round tick values for it.
///
/// `niced(...)` widens a data extent to multiples of a 1–2–5 step, so the axis starts and ends on
/// a tick and every tick label is a short round number.
public struct LinearScale: Sendable, Equatable {
    public var domain: ClosedRange<Double>
    /// Pixel positions of `domain.lowerBound` and `domain.upperBound`; `to` may be below `from`
    /// (y axes grow upwards on screen).
    public var from: Double
    public var to: Double

    public init(domain: ClosedRange<Double>, from: Double, to: Double) {
        self.domain = domain
        self.from = from
        self.to = to
    }

    public func callAsFunction(_ value: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0 else { return (from + to) / 2 }
        return from + (value - domain.lowerBound) / span * (to - from)
    }

    /// A round step (1, 2 or 5 × 10ⁿ) that cuts `span` into about `count` parts.
    public static func niceStep(span: Double, count: Int) -> Double {
        guard span > 0, span.isFinite, count > 0 else { return 1 }
        let raw = span / Double(count)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// The extent of `values`, widened to round ticks: `includeZero` pulls it down (or up) to 0,
    /// `limit` clips it (accuracy never goes past 0…1). A single value or no value still gives a
    /// usable domain.
    public static func niced(_ values: [Double], includeZero: Bool, limit: ClosedRange<Double>? = nil,
                             tickCount: Int = 5) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return limit ?? 0...1 }
        if includeZero { low = min(low, 0); high = max(high, 0) }
        if low == high {
            if low == 0 {
                high = 1
            } else {
                low -= abs(low) * 0.1
                high += abs(high) * 0.1
            }
        }
        let step = niceStep(span: high - low, count: tickCount)
        // The tolerance keeps 0.9 / 0.1 = 9.000000000000002 from adding a whole step.
        low = multiple((low / step + 1e-9).rounded(.down), of: step)
        high = multiple((high / step - 1e-9).rounded(.up), of: step)
        if let limit {
            low = max(low, limit.lowerBound)
            high = min(high, limit.upperBound)
        }
        return low...high
    }

    /// Round values inside the domain, about `count` of them, lowest first.
    public func ticks(count: Int = 5) -> [Double] {
        let step = Self.niceStep(span: domain.upperBound - domain.lowerBound, count: count)
        // Multiples of the step, counted in whole steps so rounding errors do not add up; the
        // tolerance keeps a last tick that lands a hair past the bound (0.1 × 3).
        let first = (domain.lowerBound / step - 1e-9).rounded(.up)
        let last = (domain.upperBound / step + 1e-9).rounded(.down)
        guard first <= last else { return [] }
        return stride(from: first, through: min(last, first + 100), by: 1).map { Self.multiple($0, of: step) }
    }

    /// `count × step`, divided rather than multiplied for steps below 1 so that 3 × 0.2 is 0.6,
    /// not 0.6000000000000001.
    static func multiple(_ count: Double, of step: Double) -> Double {
        let value = step >= 1 ? count * step : count / (1 / step).rounded()
        return value == 0 ? 0 : value
    }

    /// Decimals needed to tell ticks `step` apart (0 for steps of 1 or more).
    public static func decimals(forStep step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        return max(0, Int((-log10(step)).rounded(.up)))
    }
}
