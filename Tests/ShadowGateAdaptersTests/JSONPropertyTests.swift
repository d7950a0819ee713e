import Testing
@testable import ShadowGateAdapters

/// Property-style checks over random documents from a seeded generator: the same seeds give
/// the same documents on every run, so a failure message's seed reproduces it.
@Suite("JSON scanner properties")
struct JSONPropertyTests {
    /// Bytes that are invalid anywhere in JSON text: control characters other than JSON
    /// whitespace (invalid raw in strings and outside them), and bytes that never occur in
    /// UTF-8. Replacing any byte of a valid document with one of these must be rejected.
    static let alwaysInvalidBytes: [UInt8] = Array(0x00...0x08) + [0x0B, 0x0C] + Array(0x0E...0x1F)
        + [0xC0, 0xC1] + Array(0xF5...0xFF)

    @Test(arguments: 0..<8)
    func randomDocumentsRoundTrip(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for iteration in 0..<150 {
            let value = TestJSONGenerator.document(using: &rng)
            let text = TestJSONWriter.randomized(value, using: &rng)
            try withBytes(text) { buffer in
                let scanner = JSONScanner(buffer)
                let document: JSONScanner.Document
                do {
                    document = try scanner.validate()
                } catch {
                    Issue.record("seed \(seed)/\(iteration): rejected valid JSON (\(error)): \(text)")
                    return
                }
                #expect(readTree(scanner, document.root) == value, "seed \(seed)/\(iteration): \(text)")
                #expect(scanner.text(document.root) == text.trimmingWhitespace, "seed \(seed)/\(iteration)")
                let stored = try #require(scanner.sanitizedText(document.root))
                #expect(isStrictJSON(stored), "seed \(seed)/\(iteration): \(stored)")
                // Every pointer to every value resolves back to that value.
                for (pointer, span) in allPointers(scanner, document.root) {
                    #expect(scanner.value(at: pointer, in: document.root) == span, "\(pointer)")
                }
            }
        }
    }

    @Test(arguments: 0..<8)
    func corruptionsAreRejectedWithoutCrashing(seed: UInt64) {
        var rng = SeededGenerator(seed: 1000 + seed)
        for iteration in 0..<100 {
            let value = TestJSONGenerator.document(using: &rng)
            let bytes = Array(TestJSONWriter.randomized(value, using: &rng).utf8)

            for _ in 0..<10 {
                var corrupted = bytes
                let index = Int.random(in: 0..<corrupted.count, using: &rng)
                corrupted[index] = Self.alwaysInvalidBytes.randomElement(using: &rng)!
                #expect(scanError(corrupted, options: .lenient) != nil, "seed \(seed)/\(iteration): \(corrupted)")
            }

            // Every prefix that stops before the root's closing bracket is incomplete.
            let lastClose = bytes.lastIndex { $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: "}") }!
            let cut = Int.random(in: 0...lastClose, using: &rng)
            #expect(scanError(Array(bytes[..<cut])) != nil, "seed \(seed)/\(iteration): prefix \(cut) of \(bytes)")

            // Any byte anywhere, inserted or deleted: never a crash, and never accepting what a
            // strict parser refuses.
            for _ in 0..<10 {
                var replaced = bytes
                replaced[Int.random(in: 0..<replaced.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                var inserted = bytes
                inserted.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                var deleted = bytes
                deleted.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
                for mutated in [replaced, inserted, deleted] {
                    expectAcceptedOnlyIfStrict(mutated, "seed \(seed)/\(iteration)")
                }
            }
        }
    }

    /// Foundation stands in for a strict parser, except that it also refuses numbers beyond
    /// `Double`'s range (`5e324`), which RFC 8259 allows and PostgreSQL stores.
    func expectAcceptedOnlyIfStrict(_ bytes: [UInt8], _ context: String) {
        withBytes(bytes) { buffer in
            let scanner = JSONScanner(buffer)
            guard let document = try? scanner.validate() else { return }
            if readTree(scanner, document.root).hasInfiniteNumber { return }
            #expect(isStrictJSON(bytes), "\(context): accepted \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
    }

    @Test func randomBytesNeverCrashTheAdapter() {
        var rng = SeededGenerator(seed: 77)
        let alphabet = Array(#"{}[]",:0123456789-+.eE tfnulrsaNIy\u"#.utf8) + [0x80, 0xC3, 0xA9, 0xFF, 0x00]
        let adapters = InferenceProtocol.allCases.map { PredictionAdapter(protocol: $0, predictionPointer: "/a/0", featuresPointer: "/a") }
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            withBytes(bytes) { buffer in
                for adapter in adapters {
                    let reading = adapter.readResponse(buffer)
                    if reading.parsed {
                        #expect(reading.output.map(isStrictJSON) == true, "\(bytes)")
                    } else {
                        #expect(reading.error != nil)
                    }
                    let features = adapter.readFeatures(buffer, maxBytes: 16)
                    if let text = features.features { #expect(isStrictJSON(text)) }
                }
                _ = PredictionAdapter.stickyValue(buffer, pointer: "/a")
                expectAcceptedOnlyIfStrict(bytes, "random bytes")
            }
        }
    }

    /// Random TF-Serving-style bodies with non-finite tokens and NUL escapes: whatever the
    /// adapter stores is strict JSON.
    @Test func storedOutputIsAlwaysStrictJSON() {
        var rng = SeededGenerator(seed: 4242)
        let adapter = PredictionAdapter(protocol: .kserveV1)
        let specials = ["NaN", "Infinity", "-Infinity", #""\u0000""#, "1e999999", "-1e-999999"]
        for iteration in 0..<300 {
            var text = TestJSONWriter.randomized(TestJSONGenerator.document(using: &rng), using: &rng)
            // Splice a special token in place of every `null`, which is always a whole value.
            while let range = text.range(of: "null") {
                text.replaceSubrange(range, with: specials.randomElement(using: &rng)!)
            }
            let body = #"{"predictions": "# + text + "}"
            let reading = withBytes(body) { adapter.readResponse($0) }
            #expect(reading.parsed, "\(iteration): \(body)")
            #expect(reading.output.map(isStrictJSON) == true, "\(iteration): \(reading.output ?? "nil")")
            if let score = reading.score { #expect(score.isFinite) }
        }
    }

    /// Pointers to every value in a document, built from decoded keys.
    func allPointers(_ scanner: JSONScanner, _ root: JSONSpan) -> [(JSONPointer, JSONSpan)] {
        var result: [(JSONPointer, JSONSpan)] = []
        func visit(_ tokens: [String], _ span: JSONSpan) {
            result.append((JSONPointer(tokens: tokens), span))
            switch span.kind {
            case .object:
                for member in scanner.members(of: span) {
                    visit(tokens + [scanner.string(member.key)!], member.value)
                }
            case .array:
                for (index, element) in scanner.elements(of: span).enumerated() {
                    visit(tokens + [String(index)], element)
                }
            default:
                break
            }
        }
        visit([], root)
        return result
    }
}

extension TestJSON {
    var hasInfiniteNumber: Bool {
        switch self {
        case .number(let d): d.isInfinite
        case .array(let a): a.contains { $0.hasInfiniteNumber }
        case .object(let o): o.contains { $0.value.hasInfiniteNumber }
        default: false
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self).unicodeScalars
        let ws: Set<Unicode.Scalar> = [" ", "\n", "\r", "\t"]
        while let f = scalars.first, ws.contains(f) { scalars.removeFirst() }
        while let l = scalars.last, ws.contains(l) { scalars.removeLast() }
        return String(scalars)
    }
}
