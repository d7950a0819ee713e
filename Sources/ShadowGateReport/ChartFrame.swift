/// The parts every time chart shares: the plot area inside the margins, the scales, the grid,
/// both axes with ticks and titles, the legend, and vertical markers.
///
/// `SVGLineChart` and `SVGStepChart` draw their lines into this frame; the frame draws the rest,
/// so all charts of a report look alike and line up.
struct ChartFrame {
    static let width = 1040.0
    static let fontSize = 12.0
    static let markerFontSize = 11.0
    static let laneHeight = 16.0

    var height: Double
    static let left = 70.0
    static let right = 24.0
    var top: Double
    var bottom = 46.0
    var x: LinearScale
    var y: LinearScale
    var timeTicks: TimeTicks
    var yTicks: [Double]
    var yStep: Double
    var format: ChartValueFormat

    /// The labels drawn above the marker lines (one per marker, in order) and their lanes.
    var markers: [ChartMarker]
    var markerLabels: [String]
    var lanes: MarkerLanes

    /// Room above the plot is made for as many lanes of marker labels as `markerLabels` need.
    init(plotHeight: Double, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>, format: ChartValueFormat,
         markers: [ChartMarker], markerLabel: (ChartMarker) -> String) {
        let plotRight = Self.width - Self.right
        let xScale = LinearScale(domain: xDomain, from: Self.left, to: plotRight)
        x = xScale
        let visible = markers.filter { xDomain.contains($0.x) }
        let labels = visible.map(markerLabel)
        self.markers = visible
        markerLabels = labels
        lanes = MarkerLanes(
            centres: visible.map { xScale($0.x) },
            widths: labels.map { MarkerLanes.textWidth($0, fontSize: Self.markerFontSize) },
            minX: Self.left, maxX: plotRight)
        top = 30 + Double(lanes.laneCount) * Self.laneHeight
        height = top + plotHeight + bottom
        y = LinearScale(domain: yDomain, from: top + plotHeight, to: top)
        // Room for ~90 px per time label keeps them apart.
        timeTicks = TimeTicks(start: xDomain.lowerBound, end: xDomain.upperBound, maxCount: Int((plotRight - Self.left) / 90))
        yTicks = y.ticks(count: 5)
        yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : LinearScale.niceStep(span: yDomain.upperBound - yDomain.lowerBound, count: 5)
        self.format = format
    }

    var plotLeft: Double { Self.left }
    var plotRight: Double { Self.width - Self.right }
    var plotTop: Double { top }
    var plotBottom: Double { height - bottom }

    /// `<svg …>` with the chart's id and classes; inline SVG in HTML needs no namespace.
    func open(id: String, classes: String, label: String) -> String {
        "<svg id=\"\(HTMLText.escape(id))\" class=\"\(classes)\" viewBox=\"0 0 \(n(Self.width)) \(n(height))\" "
            + "role=\"img\" aria-label=\"\(HTMLText.escape(label))\" font-size=\"\(n(Self.fontSize))\">"
    }

    /// Grid lines, tick labels and axis titles.
    func axes(yTitle: String) -> String {
        var s = "<g class=\"grid\" stroke=\"#e5e7eb\" stroke-width=\"1\">"
        for tick in yTicks { s += "<line x1=\"\(n(plotLeft))\" x2=\"\(n(plotRight))\" y1=\"\(n(y(tick)))\" y2=\"\(n(y(tick)))\"/>" }
        for tick in timeTicks.values { s += "<line x1=\"\(n(x(tick)))\" x2=\"\(n(x(tick)))\" y1=\"\(n(plotTop))\" y2=\"\(n(plotBottom))\"/>" }
        s += "</g>"
        s += "<g class=\"axis axis-y\" fill=\"#4b5563\" text-anchor=\"end\">"
        for tick in yTicks {
            s += "<text x=\"\(n(plotLeft - 8))\" y=\"\(n(y(tick) + 4))\">\(HTMLText.escape(format.tick(tick, step: yStep)))</text>"
        }
        let middle = (plotTop + plotBottom) / 2
        s += "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(16 \(n(middle))) rotate(-90)\">\(HTMLText.escape(yTitle))</text>"
        s += "</g>"
        let span = x.domain.upperBound - x.domain.lowerBound
        s += "<g class=\"axis axis-x\" fill=\"#4b5563\" text-anchor=\"middle\">"
        s += "<line x1=\"\(n(plotLeft))\" x2=\"\(n(plotRight))\" y1=\"\(n(plotBottom))\" y2=\"\(n(plotBottom))\" stroke=\"#9ca3af\"/>"
        for tick in timeTicks.values {
            s += "<line x1=\"\(n(x(tick)))\" x2=\"\(n(x(tick)))\" y1=\"\(n(plotBottom))\" y2=\"\(n(plotBottom + 5))\" stroke=\"#9ca3af\"/>"
            s += "<text x=\"\(n(x(tick)))\" y=\"\(n(plotBottom + 19))\">\(timeTicks.label(tick, span: span))</text>"
        }
        s += "<text class=\"axis-title\" x=\"\(n(plotRight))\" y=\"\(n(plotBottom + 38))\" text-anchor=\"end\">time (UTC)</text>"
        s += "</g>"
        return s
    }

    /// One row of swatches and names above the plot, left to right.
    func legend(_ entries: [(name: String, color: String, dash: String?)]) -> String {
        var s = "<g class=\"legend\" fill=\"#111827\">"
        var cursor = plotLeft
        for entry in entries {
            let dash = entry.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            s += "<line x1=\"\(n(cursor))\" x2=\"\(n(cursor + 22))\" y1=\"14\" y2=\"14\" stroke=\"\(entry.color)\" stroke-width=\"2.5\"\(dash)/>"
            s += "<text x=\"\(n(cursor + 28))\" y=\"18\">\(HTMLText.escape(entry.name))</text>"
            cursor += 28 + MarkerLanes.textWidth(entry.name, fontSize: Self.fontSize) + 22
        }
        return s + "</g>"
    }

    /// A vertical dashed line per marker from its label down through the plot, with its hover
    /// text; labels sit in their lanes above the plot, the first lane nearest to it.
    func markerLines() -> String {
        var s = "<g class=\"markers\">"
        for (index, marker) in markers.enumerated() {
            let mx = x(marker.x)
            let placement = lanes.placements[index]
            let labelY = plotTop - 6 - Double(placement.lane) * Self.laneHeight
            s += "<g class=\"marker\"><title>\(HTMLText.escape(marker.detail))</title>"
            if !markerLabels[index].isEmpty {
                s += "<text class=\"marker-label\" x=\"\(n(placement.start))\" y=\"\(n(labelY))\" font-size=\"\(n(Self.markerFontSize))\" fill=\"#374151\">\(HTMLText.escape(markerLabels[index]))</text>"
            }
            let lineTop = markerLabels[index].isEmpty ? plotTop : labelY + 3
            s += "<line x1=\"\(n(mx))\" x2=\"\(n(mx))\" y1=\"\(n(lineTop))\" y2=\"\(n(plotBottom))\" stroke=\"#6b7280\" stroke-width=\"1\" stroke-dasharray=\"3 3\"/>"
            // A wider transparent line makes the hover text easy to reach.
            s += "<line x1=\"\(n(mx))\" x2=\"\(n(mx))\" y1=\"\(n(lineTop))\" y2=\"\(n(plotBottom))\" stroke=\"transparent\" stroke-width=\"8\"/>"
            s += "</g>"
        }
        return s + "</g>"
    }

    /// A note in the middle of an empty plot.
    func emptyNote(_ text: String) -> String {
        "<text class=\"empty\" x=\"\(n((plotLeft + plotRight) / 2))\" y=\"\(n((plotTop + plotBottom) / 2))\" text-anchor=\"middle\" fill=\"#6b7280\">\(HTMLText.escape(text))</text>"
    }
}

/// A coordinate as SVG text: one decimal is finer than a pixel, and keeps the file small.
func n(_ value: Double) -> String {
    ChartValueFormat.fixed(value, decimals: 1).replacingTrailingZeros()
}
