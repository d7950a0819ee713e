import Foundation
@testable import ShadowGateFeedback
import Testing

@Suite struct LabelFileParserTests {
    func parse(_ text: String, _ format: LabelFileParser.Format) throws -> [String] {
        try LabelImporter.parse(bytes: Array(text.utf8), format: format).map { "\($0.requestID)|\($0.rowIndex)|\($0.label)" }
    }

    @Test func csvWithAndWithoutHeaderAndQuotes() throws {
        #expect(try parse("request_id,label\na,1\nb,churned\n", .csv) == ["a|0|1", "b|0|churned"])
        #expect(try parse("label,request_id,index\n1,a,2\r\n", .csv) == ["a|2|1"])
        #expect(try parse("a,1\n\n\"b,1\",\"say \"\"hi\"\"\"\n", .csv) == ["a|0|1", "b,1|0|say \"hi\""])
        #expect(try parse("a,3,0.5\nb,,1", .csv) == ["a|3|0.5", "b|0|1"])
    }

    @Test func jsonLines() throws {
        let text = """
            {"request_id":"a","label":1}
            {"request_id":"b","index":2,"label":"churned"}
            {"request_id":"c","label":true}
            {"request_id":"d","label":0.25}
            """
        #expect(try parse(text, .jsonl) == ["a|0|1", "b|2|churned", "c|0|true", "d|0|0.25"])
    }

    @Test func badLinesNameTheLine() {
        #expect(throws: LabelFileError.self) { try parse("a,1\nb\n", .csv) }
        do {
            _ = try parse("a,0,1\nb,x,1\n", .csv)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "line 2: the index must be a whole number ≥ 0, got 'x'")
        }
        do {
            _ = try parse(#"{"request_id":"a","label":[1]}"#, .jsonl)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "line 1: 'label' must be a number, a string or a boolean")
        }
        #expect(throws: LabelFileError.self) { try parse("\"a,1\n", .csv) }
        #expect(throws: LabelFileError.self) { try parse(",1\n", .csv) }
    }

    @Test func aLargeFileIsReadInTwoHalvesWithOrderAndLineNumbersKept() throws {
        let n = 150_000
        var text = "request_id,index,label\n"
        for i in 0..<n { text += i == n - 2 ? "\"id\(i)\",\(i % 3),\(i % 2)\r\n" : "id\(i),\(i % 3),\(i % 2)\n" }
        #expect(text.utf8.count > 1 << 20, "large enough to be read in two halves")
        let labels = try LabelImporter.parse(bytes: Array(text.utf8), format: .csv)
        #expect(labels.count == n)
        #expect(labels.map(\.requestID) == (0..<n).map { "id\($0)" })
        #expect(labels.map(\.rowIndex) == (0..<n).map { $0 % 3 })
        #expect(labels[n - 2].label == "\((n - 2) % 2)")

        // A later line for a key wins, wherever the halves were split.
        let again = try LabelImporter.parse(bytes: Array((text + "id5,2,9\n").utf8), format: .csv)
        let last = LabelImporter.lastPerKey(again)
        #expect(last.count == n)
        #expect(last.last.map { "\($0.requestID)|\($0.rowIndex)|\($0.label)" } == "id5|2|9")
        #expect(!last.dropLast().contains { $0.requestID == "id5" })

        // A bad line in the second half names its own line; with one in each half, the first.
        do {
            _ = try LabelImporter.parse(bytes: Array((text + "x,y,1\n").utf8), format: .csv)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "line \(n + 2): the index must be a whole number ≥ 0, got 'y'")
        }
        do {
            let early = text.replacingOccurrences(of: "\nid3,0,1\n", with: "\nid3,-1,1\n")
            _ = try LabelImporter.parse(bytes: Array((early + "x,y,1\n").utf8), format: .csv)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "line 5: the index must be a whole number ≥ 0, got '-1'")
        }
    }

    @Test func formatFromTheFileName() {
        #expect(LabelFileParser.format(forPath: "x/labels.CSV") == .csv)
        #expect(LabelFileParser.format(forPath: "labels.ndjson") == .jsonl)
        #expect(LabelFileParser.format(forPath: "labels.txt") == nil)
    }
}
