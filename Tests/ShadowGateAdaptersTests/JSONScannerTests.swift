import Testing
@testable import ShadowGateAdapters

@Suite("JSONScanner validation")
struct JSONScannerValidationTests {
    @Test(arguments: [
        "0", "-0", "1", "-1", "10", "1.5", "-0.25", "1e5", "1E5", "1e+5", "1e-5", "1.25E-10", "0e0",
        "123456789012345678901234567890", "true", "false", "null", "\"\"", "\"a\"", "[]", "{}",
        " [ 1 , 2 ] ", "\n\t\r {\"a\" : [true, false, null], \"b\": {\"c\": \"d\"}}\n",
        "[[[[]]]]", "{\"\":0}", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u00E9\"",
        "\"\\ud83d\\ude00\"", "\"é😀中\"", "[1,\"x\",{\"y\":[null]}]", "\"\\u0000\"",
    ])
    func acceptsValidJSON(_ text: String) {
        #expect(scanError(text) == nil, "should accept \(text)")
    }

    @Test(arguments: [
        "", " ", "\n\t", "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{a:1}", "{1:2}", "{\"a\" 1}", "01", "-01", "00", "1.", "-", "+1", ".5", "1e", "1e+", "1.e5",
        "-a", "0x10", "tru", "nul", "nulls", "True", "[1] x", "{} {}", "\"abc", "\"\\x\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"a\\\"",
        "\"\t\"", "\"\n\"", "NaN", "Infinity", "-Infinity", "nan", "inf", "'a'", "<html>", "[1]]",
        "{\"a\":1}}", "\u{FEFF}{}",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(scanError(text) != nil, "should reject \(text)")
    }

    @Test(arguments: [
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xC3], [0xE2, 0x82], [0xC3, 0x28],
    ] as [[UInt8]])
    func rejectsInvalidUTF8InStrings(_ sequence: [UInt8]) {
        let text: [UInt8] = [0x22] + sequence + [0x22]
        #expect(scanError(text)?.reason == .invalidUTF8 || scanError(text)?.reason == .unexpectedEnd)
    }

    @Test func acceptsEveryUTF8Length() {
        // é (2 bytes), € (3), U+FFFF (3), 😀 (4), U+10FFFF (4)
        let text: [UInt8] = [0x22, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xEF, 0xBF, 0xBF, 0xF0, 0x9F, 0x98, 0x80, 0xF4, 0x8F, 0xBF, 0xBF, 0x22]
        #expect(scanError(text) == nil)
    }

    @Test func nonFiniteTokensOnlyWhenAllowed() {
        for text in ["NaN", "Infinity", "-Infinity", "[NaN, Infinity, -Infinity, 1]", "{\"a\": NaN}"] {
            #expect(!accepts(text), "\(text)")
            #expect(accepts(text, options: .lenient), "\(text)")
        }
        for text in ["-NaN", "+Infinity", "Inf", "NaNa", "nan", "-infinity", "[NaN1]"] {
            #expect(!accepts(text, options: .lenient), "\(text)")
        }
    }

    @Test func errorsSayWhatAndWhere() {
        #expect(scanError("[1, 2, x]") == JSONScanError(.unexpectedByte, at: 7))
        #expect(scanError("[1") == JSONScanError(.unexpectedEnd, at: 2))
        #expect(scanError("{\"outputs\": [1, 2") == JSONScanError(.unexpectedEnd, at: 17))
        #expect(scanError("01") == JSONScanError(.invalidNumber, at: 1))
        #expect(scanError("[1.]") == JSONScanError(.invalidNumber, at: 3))
        #expect(scanError("-") == JSONScanError(.unexpectedEnd, at: 1))
        #expect(scanError("{} x") == JSONScanError(.trailingData, at: 3))
        #expect(scanError("  ") == JSONScanError(.empty, at: 2))
        #expect(scanError("\"a\\qb\"") == JSONScanError(.invalidEscape, at: 2))
        #expect(scanError("[\"\\ud800x\"]") == JSONScanError(.unpairedSurrogate, at: 2))
        #expect(scanError("\"a\u{1}\"") == JSONScanError(.controlCharacter, at: 2))
        #expect(scanError("<html><body>502</body></html>")?.description == "not JSON at byte 0")
        #expect(scanError("{\"a\":1} trailing")?.description == "not JSON at byte 8: trailing data")
        #expect(scanError("[1")?.description == "truncated JSON at byte 2")
        #expect(scanError("")?.description == "empty body")
    }

    @Test func depthIsBoundedNotRecursedIntoTheStack() {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(accepts(ok))
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(scanError(deep)?.reason == .tooDeep)
        #expect(scanError(String(repeating: "[", count: 10_000))?.reason == .tooDeep)
        #expect(scanError(String(repeating: "{\"a\":", count: 10_000))?.reason == .tooDeep)
        #expect(scanError(String(repeating: "[{\"a\":", count: 5_000))?.reason == .tooDeep)
        let shallow = JSONScanner.Options(maxDepth: 2)
        #expect(accepts("[[1]]", options: shallow))
        #expect(scanError("[[[1]]]", options: shallow) == JSONScanError(.tooDeep, at: 2))
    }

    @Test func documentSpansTheValueWithoutWhitespace() throws {
        try withBytes("  {\"a\": 1}\n") { buffer in
            let document = try JSONScanner(buffer).validate()
            #expect(document.root == JSONSpan(kind: .object, range: 2..<10))
            #expect(!document.needsSanitizing)
        }
    }

    @Test(arguments: [
        ("[NaN]", true), ("[Infinity]", true), ("[-Infinity]", true), ("\"\\u0000\"", true),
        ("1e131071", false), ("1e131072", true), ("1e-16383", false), ("1e-16384", true), ("0.0001e-16380", true),
        ("[1.5, \"\\\\u0000\"]", false), ("{\"NaN\": \"Infinity\"}", false),
    ])
    func flagsWhatPostgresRefuses(_ text: String, _ expected: Bool) throws {
        try withBytes(text) { buffer in
            let document = try JSONScanner(buffer, options: .lenient).validate()
            #expect(document.needsSanitizing == expected, "\(text)")
        }
    }
}

@Suite("JSONScanner navigation")
struct JSONScannerNavigationTests {
    @Test func iteratesMembersAndElements() throws {
        try withBytes(#" { "a" : 1 , "b\"c" : [ true , null , "x" , { } , [ ] ] , "d":-2.5e3 } "#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            let members = Array(scanner.members(of: root))
            #expect(members.map { scanner.string($0.key) } == ["a", "b\"c", "d"])
            #expect(members.map(\.value.kind) == [.number, .array, .number])
            #expect(scanner.number(members[0].value) == 1)
            #expect(scanner.number(members[2].value) == -2500)
            let elements = Array(scanner.elements(of: members[1].value))
            #expect(elements.map(\.kind) == [.bool, .null, .string, .object, .array])
            #expect(elements.map { scanner.text($0) } == ["true", "null", "\"x\"", "{ }", "[ ]"])
            #expect(scanner.bool(elements[0]) == true)
            #expect(Array(scanner.members(of: elements[3])).isEmpty)
            #expect(Array(scanner.elements(of: elements[4])).isEmpty)
            // Asking a container of the wrong kind is empty, not a crash.
            #expect(Array(scanner.elements(of: root)).isEmpty)
            #expect(Array(scanner.members(of: elements[2])).isEmpty)
            #expect(scanner.element(2, in: members[1].value).map { scanner.text($0) } == "\"x\"")
            #expect(scanner.element(5, in: members[1].value) == nil)
            #expect(scanner.element(-1, in: members[1].value) == nil)
        }
    }

    @Test func keyLookupUnescapesAndLastDuplicateWins() throws {
        try withBytes(#"{"out\u0070uts": 1, "x": 2, "x": 3, "\ud83d\ude00": 4, "a\/b": 5}"#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            #expect(scanner.value(forKey: "outputs", in: root).flatMap { scanner.number($0) } == 1)
            #expect(scanner.value(forKey: "x", in: root).flatMap { scanner.number($0) } == 3)
            #expect(scanner.value(forKey: "😀", in: root).flatMap { scanner.number($0) } == 4)
            #expect(scanner.value(forKey: "a/b", in: root).flatMap { scanner.number($0) } == 5)
            #expect(scanner.value(forKey: "output", in: root) == nil)
            #expect(scanner.value(forKey: "outputss", in: root) == nil)
            #expect(scanner.value(forKey: "", in: root) == nil)
        }
    }

    @Test(arguments: [
        (#""plain""#, "plain"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""caf\u00e9 \u20AC \ud83d\ude00 \uFFFF""#, "café € 😀 \u{FFFF}"),
        ("\"café € 😀\"", "café € 😀"),
        (#""\u0041\u0000B""#, "A\u{0}B"),
        (#""""#, ""),
        (#""\\u0041""#, "\\u0041"),
    ])
    func decodesStrings(_ json: String, _ expected: String) throws {
        try withBytes(json) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            #expect(scanner.string(root) == expected)
            #expect(scanner.string(root, equals: expected))
            #expect(!scanner.string(root, equals: expected + "x"))
        }
    }

    @Test(arguments: [
        "0", "-0", "1", "-1", "0.1", "0.5", "1e22", "1e23", "9007199254740992", "9007199254740993",
        "123456789012345678901234567890", "0.000001234", "1E5", "1e+5", "1e-5", "4.9e-324", "5e-324",
        "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308", "1e400", "-1e400",
        "1e-400", "3.141592653589793", "0.30000000000000004", "100.0", "1.0e-05", "12345678901234567890",
        "0.00000000000000000000000000001", "123.456e-7", "18446744073709551616", "8.98846567431158e307",
    ])
    func parsesNumbersLikeTheStandardLibrary(_ text: String) throws {
        try withBytes(text) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            let parsed = try #require(scanner.number(root))
            let expected = try #require(Double(text))
            #expect(parsed.bitPattern == expected.bitPattern, "\(text): \(parsed) != \(expected)")
        }
    }

    @Test func parsesNonFiniteTokens() throws {
        try withBytes("[NaN, Infinity, -Infinity]") { buffer in
            let scanner = JSONScanner(buffer, options: .lenient)
            let values = Array(scanner.elements(of: try scanner.validate().root)).map { scanner.number($0)! }
            #expect(values[0].isNaN)
            #expect(values[1] == .infinity)
            #expect(values[2] == -.infinity)
        }
    }

    @Test func wrongKindAccessorsReturnNil() throws {
        try withBytes(#"["s", 1, true, null]"#) { buffer in
            let scanner = JSONScanner(buffer)
            let e = Array(scanner.elements(of: try scanner.validate().root))
            #expect(scanner.number(e[0]) == nil)
            #expect(scanner.string(e[1]) == nil)
            #expect(scanner.bool(e[3]) == nil)
            #expect(!scanner.string(e[1], equals: "1"))
        }
    }

    @Test func firstNumberAndStringSkipKeys() throws {
        try withBytes(#"[{"123": "7", "label": "cat", "scores": [[-0.5, 2]]}]"#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            #expect(scanner.firstNumber(in: root).flatMap { scanner.number($0) } == -0.5)
            #expect(scanner.firstString(in: root).flatMap { scanner.string($0) } == "7")
        }
        try withBytes(#"{"a": {"b": ["x"]}}"#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            #expect(scanner.firstNumber(in: root) == nil)
            #expect(scanner.firstString(in: root).flatMap { scanner.string($0) } == "x")
        }
    }

    @Test func navigationOnSpansFromElsewhereNeverTraps() {
        withBytes("[1,2]") { buffer in
            let scanner = JSONScanner(buffer)
            let bogus = [
                JSONSpan(kind: .string, range: 0..<1), JSONSpan(kind: .object, range: 3..<500),
                JSONSpan(kind: .array, range: 4..<4), JSONSpan(kind: .string, range: 5..<9),
                JSONSpan(kind: .number, range: 2..<700),
            ]
            for span in bogus {
                _ = scanner.string(span)
                _ = scanner.text(span)
                _ = scanner.number(span)
                _ = Array(scanner.members(of: span))
                _ = Array(scanner.elements(of: span))
                _ = scanner.sanitizedText(span)
                _ = scanner.firstNumber(in: span)
                _ = scanner.firstString(in: span)
            }
        }
        withBytes("") { buffer in
            let scanner = JSONScanner(buffer)
            _ = scanner.string(JSONSpan(kind: .string, range: 0..<2))
            _ = Array(scanner.elements(of: JSONSpan(kind: .array, range: 0..<2)))
        }
    }
}

@Suite("JSONScanner jsonb sanitizing")
struct JSONSanitizeTests {
    func sanitized(_ text: String, maxBytes: Int = .max) throws -> String? {
        try withBytes(text) { buffer in
            let scanner = JSONScanner(buffer, options: .lenient)
            return scanner.sanitizedText(try scanner.validate().root, maxBytes: maxBytes)
        }
    }

    @Test(arguments: [
        ("[NaN, Infinity, -Infinity, 1.5]", "[null, null, null, 1.5]"),
        ("{\"a\":NaN,\"b\":[-Infinity]}", "{\"a\":null,\"b\":[null]}"),
        ("NaN", "null"),
        (#""a\u0000b""#, #""a\ufffdb""#),
        (#"{"k\u0000": "\u0000\u0000"}"#, #"{"k\ufffd": "\ufffd\ufffd"}"#),
        (#""\\u0000""#, #""\\u0000""#),
        (#"["NaN", "Infinity", "-1e999999"]"#, #"["NaN", "Infinity", "-1e999999"]"#),
        ("[1e131072, 1e131071, -1e-16384, 1.5e-16383, 2e+999999]", "[null, 1e131071, null, null, null]"),
        ("[ 1 ,\n 2 ]", "[ 1 ,\n 2 ]"),
    ])
    func rewritesOnlyWhatJsonbRefuses(_ input: String, _ expected: String) throws {
        #expect(try sanitized(input) == expected)
    }

    @Test func sanitizedTextIsStrictJSON() throws {
        let out = try #require(try sanitized(#"{"p": [[NaN, 0.5], [Infinity, -Infinity]], "s": "x\u0000"}"#))
        #expect(isStrictJSON(out))
        #expect(!isStrictJSON("[NaN]"))  // the oracle does reject what we rewrite
    }

    @Test func capIsOnTheRewrittenLength() throws {
        #expect(try sanitized("[NaN]", maxBytes: 5) == nil)
        #expect(try sanitized("[NaN]", maxBytes: 6) == "[null]")
        #expect(try sanitized("[1,2,3]", maxBytes: 7) == "[1,2,3]")
        #expect(try sanitized("[1,2,3]", maxBytes: 6) == nil)
        #expect(try sanitized("[1,2,3]", maxBytes: 0) == nil)
    }
}
