/// A value that holds until it is changed, drawn as a step line (the learner's share of traffic),
/// with every change marked by a dot and a labelled vertical line whose hover text tells who
/// changed it and why.
///
/// Promises: the line is flat between changes and jumps vertically at each one; it starts at
/// `initial` at the left edge (or at the first change when `initial` is `nil`) and runs to the
/// right edge; marker labels are laid out in lanes so none overlap; all text is escaped.
public struct SVGStepChart: Sendable {
    /// One change of the value.
    public struct Change: Sendable, Equatable {
        public var x: Double
        public var value: Double
        public var marker: ChartMarker

        public init(x: Double, value: Double, marker: ChartMarker) {
            self.x = x
            self.value = value
            self.marker = marker
        }
    }

    public var id: String
    public var title: String
    public var yTitle: String
    public var seriesName: String
    public var color: String
    public var format: ChartValueFormat
    public var xDomain: ClosedRange<Double>
    public var yDomain: ClosedRange<Double>
    /// The value at the left edge, `nil` when it is unknown there.
    public var initial: Double?
    /// Earliest first; changes outside `xDomain` are ignored.
    public var changes: [Change]
    public var plotHeight: Double

    public init(id: String, title: String, yTitle: String, seriesName: String, color: String,
                format: ChartValueFormat, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>,
                initial: Double?, changes: [Change], plotHeight: Double = 200) {
        self.id = id
        self.title = title
        self.yTitle = yTitle
        self.seriesName = seriesName
        self.color = color
        self.format = format
        self.xDomain = xDomain
        self.yDomain = yDomain
        self.initial = initial
        self.changes = changes
        self.plotHeight = plotHeight
    }

    /// The corners of the step line, left to right (two per change: before and after the jump).
    public var vertices: [(x: Double, y: Double)] {
        let inside = changes.filter { xDomain.contains($0.x) }.sorted { $0.x < $1.x }
        var out: [(x: Double, y: Double)] = []
        var current = initial
        if let initial { out.append((xDomain.lowerBound, initial)) }
        for change in inside {
            if let current { out.append((change.x, current)) }
            out.append((change.x, change.value))
            current = change.value
        }
        if let current, !out.isEmpty { out.append((xDomain.upperBound, current)) }
        return out
    }

    public func render() -> String {
        let inside = changes.filter { xDomain.contains($0.x) }.sorted { $0.x < $1.x }
        let frame = ChartFrame(plotHeight: plotHeight, xDomain: xDomain, yDomain: yDomain, format: format,
                               markers: inside.map(\.marker)) { $0.tag.isEmpty ? $0.label : "\($0.tag) \($0.label)" }
        var s = frame.open(id: id, classes: "sg-chart step-chart", label: title)
        s += frame.axes(yTitle: yTitle)
        s += frame.markerLines()
        let corners = vertices
        if corners.isEmpty {
            s += frame.emptyNote("no rollout decisions recorded")
        } else {
            let d = corners.enumerated().map { index, p in (index == 0 ? "M" : "L") + "\(n(frame.x(p.x))) \(n(frame.y(p.y)))" }
            s += "<path class=\"step\" d=\"\(d.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>"
        }
        s += "<g class=\"changes\">"
        for change in inside {
            s += "<circle class=\"change\" data-value=\"\(change.value)\" cx=\"\(n(frame.x(change.x)))\" cy=\"\(n(frame.y(change.value)))\" r=\"4.5\" fill=\"#ffffff\" stroke=\"\(color)\" stroke-width=\"2\">"
            s += "<title>\(HTMLText.escape(change.marker.detail))</title></circle>"
        }
        s += "</g>"
        s += frame.legend([(seriesName, color, nil), ("rollout decision", "#6b7280", "3 3")])
        return s + "</svg>"
    }
}
