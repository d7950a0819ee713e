import ShadowGateReport
import Testing

@Suite("SVG charts")
struct SVGChartTests {
    static let points: [ChartPoint] = [
        .init(x: 0, y: 0.5), .init(x: 60, y: 0.6), .init(x: 120, y: nil),
        .init(x: 180, y: 0.7), .init(x: 240, y: nil), .init(x: 300, y: 0.8), .init(x: 360, y: .nan), .init(x: 420, y: 0.9),
    ]

    @Test("a nil (or NaN) value breaks the line: runs of consecutive values, never a segment across a gap")
    func runs() {
        let runs = SVGLineChart.runs(Self.points)
        #expect(runs.map { $0.map(\.x) } == [[0, 60], [180], [300], [420]])
        #expect(SVGLineChart.runs([.init(x: 0, y: nil)]).isEmpty)
    }

    @Test("the SVG draws one path per run of two or more points and a dot for a lone point")
    func gapsInTheSVG() {
        let chart = SVGLineChart(id: "chart-x", title: "t", yTitle: "accuracy", format: .fractionAsPercent, xDomain: 0...420,
                                 series: [ChartSeries(name: "learner", key: "learner_accuracy", color: "#2563eb", points: Self.points)],
                                 includeZero: false, yLimit: 0...1)
        let svg = chart.render()
        let series = String(svg[svg.range(of: "data-series=\"learner_accuracy\"")!.lowerBound...])
        #expect(series.components(separatedBy: "<path ").count - 1 == 1)
        #expect(series.components(separatedBy: "<circle cx").count - 1 == 3)
        // every present value has a hover text with its exact-ish value
        #expect(series.components(separatedBy: "<title>").count - 1 == 5)
        #expect(svg.contains("learner: 90.0%"))
        #expect(svg.hasPrefix("<svg id=\"chart-x\" class=\"sg-chart line-chart\""))
        #expect(!svg.contains("http"))
        #expect(chart.yDomain == 0.5...0.9)
    }

    @Test("y tick labels follow the format; an empty chart says so instead of drawing nothing")
    func ticksAndEmpty() {
        let latency = SVGLineChart(id: "l", title: "t", yTitle: "latency", format: .milliseconds, xDomain: 0...100,
                                   series: [ChartSeries(name: "p95", key: "p95", color: "#000", points: [.init(x: 0, y: 12), .init(x: 100, y: 47)])])
        let svg = latency.render()
        for label in ["0 ms", "10 ms", "50 ms"] { #expect(svg.contains(">\(label)</text>"), "\(label)") }
        let empty = SVGLineChart(id: "e", title: "t", yTitle: "y", format: .number, xDomain: 0...100,
                                 series: [ChartSeries(name: "s", key: "s", color: "#000", points: [.init(x: 0, y: nil)])])
        #expect(empty.render().contains("no data in this window"))
    }

    @Test("markers are vertical lines with their detail escaped in a <title>")
    func markers() {
        let chart = SVGLineChart(id: "m", title: "t", yTitle: "y", format: .number, xDomain: 0...100,
                                 series: [ChartSeries(name: "s", key: "s", color: "#000", points: [.init(x: 0, y: 1), .init(x: 100, y: 2)])],
                                 markers: [ChartMarker(x: 50, label: "set", detail: "reason: <script>alert('x')</script> & more"),
                                           ChartMarker(x: 500, label: "outside", detail: "never drawn")])
        let svg = chart.render()
        #expect(svg.contains("<title>reason: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more</title>"))
        #expect(!svg.contains("<script"))
        #expect(!svg.contains("never drawn"))
    }

    @Test("marker labels that would overlap go to separate lanes; far apart ones share a lane")
    func lanes() {
        let lanes = MarkerLanes(centres: [100, 110, 400, 120], widths: [60, 60, 60, 60], minX: 0, maxX: 1000)
        #expect(lanes.placements.map(\.lane) == [0, 1, 0, 2])
        #expect(lanes.laneCount == 3)
        for a in lanes.placements.indices {
            for b in lanes.placements.indices where a < b && lanes.placements[a].lane == lanes.placements[b].lane {
                let (p, q) = (lanes.placements[a], lanes.placements[b])
                #expect(p.end <= q.start || q.end <= p.start)
            }
        }
        // labels stay inside the plot at its edges
        let edge = MarkerLanes(centres: [2, 998], widths: [80, 80], minX: 0, maxX: 1000)
        #expect(edge.placements[0].start == 0 && edge.placements[1].end == 1000)
    }

    @Test("the step line holds each value until the next change and runs to both edges")
    func steps() {
        func change(_ x: Double, _ v: Double) -> SVGStepChart.Change {
            .init(x: x, value: v, marker: ChartMarker(x: x, label: "l\(x)", detail: "d\(x)"))
        }
        let chart = SVGStepChart(id: "chart-canary", title: "t", yTitle: "share", seriesName: "learner", color: "#2563eb",
                                 format: .percent, xDomain: 0...100, yDomain: 0...100, initial: 0,
                                 changes: [change(20, 1), change(40, 5), change(70, 100), change(150, 0)])
        let corners = chart.vertices.map { [$0.x, $0.y] }
        #expect(corners == [[0, 0], [20, 0], [20, 1], [40, 1], [40, 5], [70, 5], [70, 100], [100, 100]])
        let svg = chart.render()
        #expect(svg.components(separatedBy: "class=\"change\"").count - 1 == 3)
        #expect(svg.contains(">l20.0</text>") && !svg.contains("l150.0"))
        // a tag goes before the label, and is all a line chart draws of a marker
        var tagged = chart
        tagged.changes[0].marker.tag = "#1"
        #expect(tagged.render().contains(">#1 l20.0</text>"))
        let line = SVGLineChart(id: "l", title: "t", yTitle: "y", format: .number, xDomain: 0...100, series: [],
                                markers: [ChartMarker(x: 20, tag: "#1", label: "l20", detail: "d")])
        #expect(line.render().contains(">#1</text>") && !line.render().contains("l20"))
        // unknown start: the line begins at the first change
        var unknown = chart
        unknown.initial = nil
        #expect(unknown.vertices.first.map { [$0.x, $0.y] } == [20, 1])
        unknown.changes = []
        #expect(unknown.vertices.isEmpty)
        #expect(unknown.render().contains("no rollout decisions recorded"))
    }

    @Test("escaping covers markup, quotes and control characters")
    func escaping() {
        #expect(HTMLText.escape(#"<a href="x">'&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTMLText.escape("tab\there\nnew\u{1}bell") == "tab\there\nnew\u{FFFD}bell")
        #expect(HTMLText.escape("héllo ✓") == "héllo ✓")
    }
}
