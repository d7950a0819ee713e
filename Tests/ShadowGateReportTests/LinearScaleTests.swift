import ShadowGateReport
import Testing

@Suite("Linear scale")
struct LinearScaleTests {
    @Test("maps the domain onto the pixel range, also upside down for y axes")
    func mapping() {
        let x = LinearScale(domain: 10...20, from: 100, to: 300)
        #expect(x(10) == 100 && x(15) == 200 && x(20) == 300)
        let y = LinearScale(domain: 0...1, from: 250, to: 50)
        #expect(y(0) == 250 && y(1) == 50 && y(0.25) == 200)
        // an empty domain puts everything in the middle rather than dividing by zero
        #expect(LinearScale(domain: 5...5, from: 0, to: 100)(5) == 50)
    }

    @Test("steps are 1, 2 or 5 times a power of ten")
    func niceSteps() {
        #expect(LinearScale.niceStep(span: 1, count: 5) == 0.2)
        #expect(LinearScale.niceStep(span: 100, count: 5) == 20)
        #expect(LinearScale.niceStep(span: 37, count: 5) == 10)
        #expect(LinearScale.niceStep(span: 0.03, count: 5) == 0.01)
        #expect(LinearScale.niceStep(span: 240, count: 5) == 50)
    }

    @Test("the domain widens to round ticks, includes zero when asked and stays within its limit")
    func niced() {
        #expect(LinearScale.niced([0.62, 0.93], includeZero: false, limit: 0...1) == 0.6...1.0)
        #expect(LinearScale.niced([12.3, 47.9], includeZero: true) == 0...50)
        #expect(LinearScale.niced([0.8, 0.95, 1.0], includeZero: false, limit: 0...1).upperBound == 1)
        // one value, no value, non-finite values
        #expect(LinearScale.niced([0.5], includeZero: false).contains(0.5))
        #expect(LinearScale.niced([], includeZero: true, limit: 0...1) == 0...1)
        #expect(LinearScale.niced([.nan, .infinity], includeZero: true) == 0...1)
        #expect(LinearScale.niced([0, 0], includeZero: true) == 0...1)
    }

    @Test("ticks are the round values inside the domain, the last one kept despite rounding")
    func ticks() {
        #expect(LinearScale(domain: 0...1, from: 0, to: 1).ticks(count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(LinearScale(domain: 0...0.3, from: 0, to: 1).ticks(count: 3).count == 4)
        #expect(LinearScale(domain: 0...50, from: 0, to: 1).ticks(count: 5) == [0, 10, 20, 30, 40, 50])
        #expect(LinearScale(domain: 3...17, from: 0, to: 1).ticks(count: 5) == [5, 10, 15])
    }

    @Test("tick labels get as many decimals as their step needs")
    func decimals() {
        #expect(LinearScale.decimals(forStep: 10) == 0)
        #expect(LinearScale.decimals(forStep: 1) == 0)
        #expect(LinearScale.decimals(forStep: 0.2) == 1)
        #expect(LinearScale.decimals(forStep: 0.05) == 2)
    }
}
