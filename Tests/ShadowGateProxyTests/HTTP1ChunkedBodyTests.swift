import NIOCore
import Testing
@testable import ShadowGateProxy

@Suite("Chunked body framing, request and response rules")
struct HTTP1ChunkedBodyTests {
    typealias Body = HTTP1ChunkedBody

    /// What a body read in pieces of `step` bytes came to: its data, whether it ended, the bytes
    /// left after it, or the failure that stopped it.
    struct Outcome {
        var data = ""
        var ended = false
        var rest = ""
        var failure: Body.Failure?
    }

    func read(_ text: String, _ rules: Body.Rules, step: Int = .max, chunkLimit: Int = .max) -> Outcome {
        var body = Body(rules: rules)
        var outcome = Outcome()
        let bytes = Array(text.utf8)
        var received = ByteBuffer()
        var offset = 0
        while offset < bytes.count, !outcome.ended {
            let end = min(bytes.count, offset + max(1, min(step, bytes.count)))
            received.writeBytes(bytes[offset..<end])
            offset = end
            do {
                while let event = try body.next(&received, chunkLimit: chunkLimit) {
                    if case .data(let piece) = event {
                        outcome.data += String(buffer: piece)
                    } else {
                        outcome.ended = true
                        break
                    }
                }
            } catch {
                outcome.failure = error
                return outcome
            }
        }
        received.writeBytes(bytes[offset...])
        outcome.rest = String(buffer: received)
        return outcome
    }

    let steps = [Int.max, 1, 2, 3, 7]

    @Test("chunks, extensions and trailers: the same data and end under both rules, read whole or a few bytes at a time")
    func wellFormed() {
        let text = "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trace: 1\r\n\r\nGET / HTTP/1.1\r\n"
        for rules in [Body.Rules.request, .response] {
            for step in steps {
                let outcome = read(text, rules, step: step)
                #expect(outcome.failure == nil, "rules \(rules), step \(step)")
                #expect(outcome.ended && outcome.data == "hello, world", "rules \(rules), step \(step)")
                #expect(outcome.rest == "GET / HTTP/1.1\r\n", "bytes after the body stay unread (rules \(rules), step \(step))")
            }
        }
    }

    @Test("chunk data comes out as slices of the bytes read, however large the chunk")
    func dataSlices() throws {
        let payload = String(repeating: "x", count: 70_000)
        let text = String(70_000, radix: 16) + "\r\n" + payload + "\r\n0\r\n\r\n"
        for step in [Int.max, 700] {
            let outcome = read(text, .request, step: step)
            #expect(outcome.ended && outcome.data == payload)
        }
        // Not a copy: the piece shares the received buffer's storage.
        var body = Body(rules: .response)
        var received = ByteBuffer(string: text)
        let storage = received.withVeryUnsafeBytes { $0.baseAddress }
        guard case .data(let piece) = try #require(try body.next(&received)) else {
            Issue.record("expected chunk data first")
            return
        }
        #expect(piece.readableBytes == 70_000)
        // A slice's bytes start where its data sat in the received buffer, after the size line.
        let sizeLine = String(70_000, radix: 16).utf8.count + 2
        #expect(piece.withVeryUnsafeBytes { $0.baseAddress } == storage.map { $0 + sizeLine })
    }

    @Test("what only the response rules take: a bare LF, blanks after the size, any trailer line")
    func lenientOnlyForResponses() {
        let cases: [(String, Body.Failure)] = [
            ("5\nhello\n0\n\n", .bareLF),
            ("5  \r\nhello\r\n0\r\n\r\n", .badChunkSize),
            ("5\r\nhello\r\n0\r\nContent-Length: 3\r\n\r\n", .badTrailer),
            ("5\r\nhello\r\n0\r\nnot a field\r\n\r\n", .badTrailer),
        ]
        for (text, failure) in cases {
            for step in steps {
                let response = read(text, .response, step: step)
                #expect(response.failure == nil && response.ended && response.data == "hello", "\(text.debugDescription), step \(step)")
                #expect(read(text, .request, step: step).failure == failure, "\(text.debugDescription), step \(step)")
            }
        }
    }

    @Test("refused under both rules: a size that is not hex, data longer than its size, a line over 8 KiB without its end")
    func refusedByBoth() {
        // Read in 1,000-byte pieces: the long line is refused once 8 KiB of it came without a line end.
        let long = "1;" + String(repeating: "e", count: Body.maxLineBytes + 2000) + "\r\nx\r\n0\r\n\r\n"
        let cases: [(String, Body.Failure)] = [
            ("zz\r\nhello\r\n0\r\n\r\n", .badChunkSize),
            ("\r\nhello\r\n0\r\n\r\n", .badChunkSize),
            ("3\r\nhello\r\n0\r\n\r\n", .missingChunkEnd),
            (long, .lineTooLong),
        ]
        for rules in [Body.Rules.request, .response] {
            for (text, failure) in cases {
                #expect(read(text, rules, step: 1000).failure == failure, "\(rules): \(text.prefix(20).debugDescription)")
            }
        }
    }

    @Test("request rules refuse a size or chunk-end line as soon as it cannot become a valid one, not at its end")
    func refusedAsItArrives() {
        // None of these has a line end: each is refused from what has come.
        let cases: [(String, Body.Failure)] = [
            ("5 ", .badChunkSize),
            ("g", .badChunkSize),
            ("5;ext\u{01}", .badChunkSize),
            ("3\r\nabcX", .missingChunkEnd),
            ("3\r\nabc\rX", .missingChunkEnd),
        ]
        for (text, failure) in cases {
            #expect(read(text, .request, step: 1).failure == failure, "\(text.debugDescription)")
            let response = read(text, .response, step: 1)
            #expect(response.failure == nil && !response.ended, "response rules wait for the line's end: \(text.debugDescription)")
        }
        // What can still become valid waits: digits, an extension, the CR of a line end.
        for text in ["5", "5;a=b", "5\r", "3\r\nabc", "3\r\nabc\r"] {
            let outcome = read(text, .request, step: 1)
            #expect(outcome.failure == nil && !outcome.ended, "\(text.debugDescription)")
        }
    }

    @Test("a chunk over the caller's limit is refused from its size line, before its data comes")
    func chunkLimit() {
        let outcome = read("400\r\n", .response, chunkLimit: 1023)
        #expect(outcome.failure == .chunkTooLarge)
        #expect(read("400\r\n" + String(repeating: "a", count: 1024) + "\r\n0\r\n\r\n", .response, chunkLimit: 1024).ended)
    }

    @Test("after its end the reader frames the next body from the start")
    func reuse() throws {
        var body = Body(rules: .request)
        for word in ["one", "three"] {
            var buffer = ByteBuffer(string: String(word.count, radix: 16) + "\r\n" + word + "\r\n0\r\n\r\n")
            var data = ""
            while let event = try body.next(&buffer) {
                if case .data(let piece) = event { data += String(buffer: piece) } else { break }
            }
            #expect(data == word)
            #expect(buffer.readableBytes == 0)
            #expect(!body.isReadingTrailers)
        }
    }
}
