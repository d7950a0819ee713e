/// A time chart of one or more series as lines, drawn as inline SVG by our own code.
///
/// Promises: the y axis is round (``LinearScale/niced(_:includeZero:limit:tickCount:)``), time
/// ticks fall on round UTC times, a `nil` value breaks its line (an empty bucket is a gap, never
/// a straight line across it), a value with no neighbour is drawn as a dot, every point carries a
/// hover text, and all text is escaped.
public struct SVGLineChart: Sendable {
    /// The SVG element's id (`chart-accuracy`).
    public var id: String
    /// Spoken and hover title of the whole chart.
    public var title: String
    public var yTitle: String
    public var format: ChartValueFormat
    /// The time range drawn, seconds since the epoch.
    public var xDomain: ClosedRange<Double>
    public var series: [ChartSeries]
    /// Drawn as vertical dashed lines topped by their tag; the rest of their text is on hover.
    public var markers: [ChartMarker]
    /// Whether the y axis reaches down to 0 (latencies, distances); accuracies zoom in instead.
    public var includeZero: Bool
    /// Hard limits of the y axis (0…1 for fractions).
    public var yLimit: ClosedRange<Double>?
    public var plotHeight: Double

    public init(id: String, title: String, yTitle: String, format: ChartValueFormat, xDomain: ClosedRange<Double>,
                series: [ChartSeries], markers: [ChartMarker] = [], includeZero: Bool = true,
                yLimit: ClosedRange<Double>? = nil, plotHeight: Double = 220) {
        self.id = id
        self.title = title
        self.yTitle = yTitle
        self.format = format
        self.xDomain = xDomain
        self.series = series
        self.markers = markers
        self.includeZero = includeZero
        self.yLimit = yLimit
        self.plotHeight = plotHeight
    }

    /// The y range the chart draws.
    public var yDomain: ClosedRange<Double> {
        let values = series.flatMap { $0.points.compactMap(\.y) }
        return LinearScale.niced(values, includeZero: includeZero, limit: yLimit)
    }

    /// The pieces of a series' line: runs of consecutive non-nil points (a `nil` ends a run).
    public static func runs(_ points: [ChartPoint]) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = []
        var current: [(x: Double, y: Double)] = []
        for point in points {
            if let y = point.y, y.isFinite {
                current.append((point.x, y))
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    public func render() -> String {
        let frame = ChartFrame(plotHeight: plotHeight, xDomain: xDomain, yDomain: yDomain, format: format,
                               markers: markers, markerLabel: \.tag)
        var s = frame.open(id: id, classes: "sg-chart line-chart", label: title)
        s += frame.axes(yTitle: yTitle)
        s += frame.markerLines()
        let hasData = series.contains { $0.points.contains { $0.y?.isFinite == true } }
        if !hasData { s += frame.emptyNote("no data in this window") }
        for line in series {
            let dash = line.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            s += "<g class=\"series\" data-series=\"\(HTMLText.escape(line.key))\">"
            for run in Self.runs(line.points) {
                if run.count == 1 {
                    s += "<circle cx=\"\(n(frame.x(run[0].x)))\" cy=\"\(n(frame.y(run[0].y)))\" r=\"3\" fill=\"\(line.color)\"/>"
                } else {
                    let d = run.enumerated().map { index, p in (index == 0 ? "M" : "L") + "\(n(frame.x(p.x))) \(n(frame.y(p.y)))" }
                    s += "<path d=\"\(d.joined(separator: " "))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(dash)/>"
                }
            }
            // Invisible hit areas with the exact value on hover.
            for point in line.points {
                guard let y = point.y, y.isFinite else { continue }
                s += "<circle class=\"hover\" cx=\"\(n(frame.x(point.x)))\" cy=\"\(n(frame.y(y)))\" r=\"5\" fill=\"transparent\">"
                s += "<title>\(HTMLText.escape("\(UTCTime.dateTime(point.x)) · \(line.name): \(format.value(y))"))</title></circle>"
            }
            s += "</g>"
        }
        s += frame.legend(series.map { ($0.name, $0.color, $0.dash) } + (markers.isEmpty ? [] : [("rollout decision", "#6b7280", "3 3")]))
        return s + "</svg>"
    }
}
