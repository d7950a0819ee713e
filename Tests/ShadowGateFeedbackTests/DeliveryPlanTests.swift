@testable import ShadowGateFeedback
import Testing

@Suite struct DeliveryPlanTests {
    func row(_ seq: Int64, _ id: String, route: String? = "a", skip: String? = nil, txid: String = "900") -> LabelDeliveryRow {
        LabelDeliveryRow(seq: seq, txid: txid, requestID: id, rowIndex: 0, route: route, skipReason: skip,
                         ageSeconds: 1, delaySeconds: route == nil ? nil : 2,
                         item: route == nil ? nil : #"{"k":"\#(id)"}"#)
    }

    @Test func postsPerRouteInOrderAtMostBatchSizeEach() {
        let rows = [row(1, "x1"), row(2, "y1", route: "b"), row(3, "x2"), row(4, "x3"), row(5, "w", route: nil, skip: "no_prediction"),
                    row(6, "z", route: "nolearner"), row(7, "h", skip: "holdout")]
        let plan = DeliveryPlan(rows: rows, learnerPaths: ["a": "/fa", "b": "/fb"], batchSize: 2, movesCursor: true)
        #expect(plan.posts.map(\.route) == ["a", "b", "a"])
        #expect(plan.posts.map { String(decoding: $0.body, as: UTF8.self) } == [
            #"{"items":[{"k":"x1"},{"k":"x2"}]}"#, #"{"items":[{"k":"y1"}]}"#, #"{"items":[{"k":"x3"}]}"#,
        ])
        #expect(plan.posts.map(\.path) == ["/fa", "/fb", "/fa"])
        #expect(plan.posts.map(\.lastSeq) == [3, 2, 4])
        #expect(plan.waiting.map(\.requestID) == ["w"])
        #expect(plan.skipped == ["no_learner": 1, "holdout": 1])
        #expect(plan.cursor?.txid == "900" && plan.cursor?.seq == 7)
        #expect(plan.posts.allSatisfy { $0.singleKey == nil })
    }

    @Test func batchSizeOneSendsTheItemAsTheBodyWithItsKey() {
        let plan = DeliveryPlan(rows: [row(8, "x1"), row(9, "x2")], learnerPaths: ["a": "/f"], batchSize: 1, movesCursor: false)
        #expect(plan.posts.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"k":"x1"}"#, #"{"k":"x2"}"#])
        #expect(plan.posts.map(\.singleKey) == ["x1/0/8", "x2/0/9"])
        #expect(plan.cursor == nil)
    }

    @Test func anEmptyBatchMovesNothing() {
        let plan = DeliveryPlan(rows: [], learnerPaths: ["a": "/f"], batchSize: 10, movesCursor: true)
        #expect(plan.posts.isEmpty && plan.waiting.isEmpty && plan.cursor == nil)
    }
}
