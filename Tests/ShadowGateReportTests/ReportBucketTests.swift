import ShadowGateReport
import Testing

@Suite("Report bucket")
struct ReportBucketTests {
    @Test("the automatic bucket cuts any window into at most 100 round buckets, and at least ~30")
    func automaticBucket() {
        #expect(ReportBucket.automatic(windowSeconds: 3600) == ReportBucket(interval: "60 seconds", seconds: 60))
        #expect(ReportBucket.automatic(windowSeconds: 3600).description == "1 minute")
        #expect(ReportBucket.automatic(windowSeconds: 86_400).description == "15 minutes")
        #expect(ReportBucket.automatic(windowSeconds: 600).description == "10 seconds")
        let windows: [Double] = [60, 300, 1800, 3600, 4200, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400]
        for window in windows {
            let count = window / ReportBucket.automatic(windowSeconds: window).seconds
            #expect(count <= 100 && count >= 30, "window \(window): \(count) buckets")
        }
        // a year: weeks, three years: 30 days; beyond the round widths: whole days
        #expect(ReportBucket.automatic(windowSeconds: 365 * 86_400).description == "7 days")
        #expect(ReportBucket.automatic(windowSeconds: 3 * 365 * 86_400).description == "30 days")
        #expect(ReportBucket.automatic(windowSeconds: 10_000 * 86_400).description == "100 days")
    }
}
