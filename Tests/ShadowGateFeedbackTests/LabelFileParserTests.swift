import ShadowGateFeedback
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

    @Test func formatFromTheFileName() {
        #expect(LabelFileParser.format(forPath: "x/labels.CSV") == .csv)
        #expect(LabelFileParser.format(forPath: "labels.ndjson") == .jsonl)
        #expect(LabelFileParser.format(forPath: "labels.txt") == nil)
    }
}
