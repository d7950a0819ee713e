/// Places marker labels above a plot in as few rows ("lanes") as possible without overlaps.
///
/// Labels are centred on their marker and kept inside `[minX, maxX]`; going left to right, each
/// takes the first lane whose last label ends at least `gap` before it starts.
public struct MarkerLanes: Sendable, Equatable {
    public struct Placement: Sendable, Equatable {
        /// Left edge of the label.
        public var start: Double
        public var width: Double
        public var lane: Int
        public var end: Double { start + width }
    }

    /// In the order of the input.
    public var placements: [Placement]
    public var laneCount: Int

    public init(centres: [Double], widths: [Double], minX: Double, maxX: Double, gap: Double = 8) {
        var placements = [Placement](repeating: Placement(start: 0, width: 0, lane: 0), count: centres.count)
        var laneEnds: [Double] = []
        for index in centres.indices.sorted(by: { centres[$0] < centres[$1] }) {
            let width = widths[index]
            let start = min(max(centres[index] - width / 2, minX), max(minX, maxX - width))
            let lane = laneEnds.firstIndex { $0 + gap <= start } ?? laneEnds.count
            if lane == laneEnds.count { laneEnds.append(0) }
            laneEnds[lane] = start + width
            placements[index] = Placement(start: start, width: width, lane: lane)
        }
        self.placements = placements
        laneCount = laneEnds.count
    }

    /// Estimated width of `text` at `fontSize` in a sans-serif face: SVG cannot measure text
    /// before it is drawn, and a slight overestimate only costs a little space.
    public static func textWidth(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.6
    }
}
