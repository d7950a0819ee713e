/// One value of a series at an instant; `y == nil` is a gap (an empty bucket, SQL NULL).
public struct ChartPoint: Sendable, Equatable {
    /// Seconds since the epoch.
    public var x: Double
    public var y: Double?

    public init(x: Double, y: Double?) {
        self.x = x
        self.y = y
    }
}

/// A named line of a chart, drawn in one colour and dash pattern, with a legend entry.
public struct ChartSeries: Sendable, Equatable {
    /// Legend text.
    public var name: String
    /// A stable key for the SVG (`data-series`), e.g. `legacy-p95`.
    public var key: String
    public var color: String
    /// An SVG `stroke-dasharray`, `nil` for a solid line.
    public var dash: String?
    public var points: [ChartPoint]

    public init(name: String, key: String, color: String, dash: String? = nil, points: [ChartPoint]) {
        self.name = name
        self.key = key
        self.color = color
        self.dash = dash
        self.points = points
    }
}

/// A vertical line at an instant (a rollout decision), with a tag, a short label and a hover text.
public struct ChartMarker: Sendable, Equatable {
    public var x: Double
    /// Drawn above the line in every chart, to find the same decision in all of them (`#3`).
    public var tag: String
    /// Drawn after the tag by charts that label their markers (`advance → canary 25 %`).
    public var label: String
    /// Shown on hover (SVG `<title>`): when, who, what and why.
    public var detail: String

    public init(x: Double, tag: String = "", label: String, detail: String) {
        self.x = x
        self.tag = tag
        self.label = label
        self.detail = detail
    }
}
