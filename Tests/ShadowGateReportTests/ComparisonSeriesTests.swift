import ShadowGateReport
import Testing

@Suite("Comparison series")
struct ComparisonSeriesTests {
    static let series = ComparisonSeries(buckets: [
        .init(start: 0, values: ["pairs": 40, "labelled_pairs": 30, "agreement": 0.7, "learner_accuracy": 0.8]),
        .init(start: 60, values: ["pairs": 3, "labelled_pairs": 3, "agreement": 1, "learner_accuracy": 1]),
        .init(start: 120, values: ["pairs": 0, "labelled_pairs": 0, "agreement": nil, "learner_accuracy": nil]),
        .init(start: 180, values: ["pairs": 25, "labelled_pairs": 10, "agreement": 0.75, "learner_accuracy": 0.9]),
    ], bucketSeconds: 60)

    @Test("points sit in the middle of the part of their bucket inside the window")
    func positions() {
        let points = Self.series.points("agreement", window: 30...200)
        #expect(points.map(\.x) == [45, 90, 150, 190])
        #expect(points.map(\.y) == [0.7, 1, nil, 0.75])
    }

    @Test("buckets below the minimum count of their count column are gaps, like NULL")
    func minimumCount() {
        #expect(Self.series.points("agreement", window: 0...240, minimumCount: 20).map(\.y) == [0.7, nil, nil, 0.75])
        #expect(Self.series.points("learner_accuracy", window: 0...240, countColumn: "labelled_pairs", minimumCount: 20).map(\.y)
                == [0.8, nil, nil, nil])
    }
}
