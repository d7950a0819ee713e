import Testing
@testable import ShadowGateAdapters

@Suite("JSONPointer")
struct JSONPointerTests {
    @Test(arguments: [
        ("", []), ("/", [""]), ("/a", ["a"]), ("/a/b", ["a", "b"]), ("/a~1b", ["a/b"]), ("/m~0n", ["m~n"]),
        ("/~01", ["~1"]), ("/~10", ["/0"]), ("/0/-", ["0", "-"]), ("//", ["", ""]), ("/é/😀", ["é", "😀"]),
    ] as [(String, [String])])
    func parsesTokens(_ text: String, _ tokens: [String]) throws {
        let pointer = try #require(JSONPointer(text))
        #expect(pointer.tokens == tokens)
        #expect(pointer.description == text)
        #expect(JSONPointer(tokens: tokens) == pointer)
    }

    @Test(arguments: ["a", "a/b", "#/a", "/a~", "/a~2", "/~a", "~0"])
    func rejectsNonPointers(_ text: String) {
        #expect(JSONPointer(text) == nil)
    }

    @Test func escapesTokens() {
        #expect(JSONPointer.escape("a/b~c") == "a~1b~0c")
        #expect(JSONPointer(tokens: ["~1"]).string == "/~01")
    }

    /// The examples of RFC 6901 section 5.
    @Test func resolvesTheRFCExamples() throws {
        let document = #"""
        {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5,
         "k\"l": 6, " ": 7, "m~n": 8}
        """#
        let expected: [(String, String)] = [
            ("", document), ("/foo", #"["bar", "baz"]"#), ("/foo/0", #""bar""#), ("/", "0"), ("/a~1b", "1"),
            ("/c%d", "2"), ("/e^f", "3"), ("/g|h", "4"), ("/i\\j", "5"), ("/k\"l", "6"), ("/ ", "7"), ("/m~0n", "8"),
        ]
        try withBytes(document) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            for (pointer, text) in expected {
                let span = scanner.value(at: JSONPointer(pointer)!, in: root)
                #expect(span.map { scanner.text($0) } == text, "\(pointer)")
            }
        }
    }

    @Test func arrayIndicesAreStrict() throws {
        try withBytes(#"{"a": [10, 20, [30, {"0": 40}]], "01": "key"}"#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            func at(_ p: String) -> String? { scanner.value(at: JSONPointer(p)!, in: root).map { scanner.text($0) } }
            #expect(at("/a/0") == "10")
            #expect(at("/a/1") == "20")
            #expect(at("/a/2/0") == "30")
            #expect(at("/a/2/1/0") == "40")  // "0" is a key in an object
            #expect(at("/01") == #""key""#)  // and "01" too
            #expect(at("/a/01") == nil)
            #expect(at("/a/-") == nil)
            #expect(at("/a/3") == nil)
            #expect(at("/a/-1") == nil)
            #expect(at("/a/1e0") == nil)
            #expect(at("/a/99999999999999999999999") == nil)
            #expect(at("/a/0/0") == nil)  // into a number
            #expect(at("/b") == nil)
        }
    }

    @Test func matchesEscapedKeysInTheDocument() throws {
        try withBytes(#"{"\u0061\/b": {"m\u007en": true}}"#) { buffer in
            let scanner = JSONScanner(buffer)
            let root = try scanner.validate().root
            #expect(scanner.value(at: JSONPointer("/a~1b/m~0n")!, in: root).map { scanner.text($0) } == "true")
        }
    }
}
