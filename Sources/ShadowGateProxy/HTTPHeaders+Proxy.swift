import NIOCore
import NIOHTTP1

extension HTTPHeaders {
    /// Case-insensitive membership in the hop-by-hop set (RFC 9110 §7.6.1, and `expect`), without allocating.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: equalsLowercase(name, "te")
        case 6: equalsLowercase(name, "expect")
        case 7: equalsLowercase(name, "upgrade") || equalsLowercase(name, "trailer")
        case 10: equalsLowercase(name, "connection") || equalsLowercase(name, "keep-alive")
        case 16: equalsLowercase(name, "proxy-connection")
        case 17: equalsLowercase(name, "transfer-encoding")
        case 18: equalsLowercase(name, "proxy-authenticate")
        case 19: equalsLowercase(name, "proxy-authorization")
        default: false
        }
    }

    /// Whether `name` is one of the comma-separated tokens of a `Connection:` value.
    static func isListed(_ name: String, in connectionValue: String) -> Bool {
        for token in connectionValue.split(separator: ",") {
            let trimmed = token.trimmingCharacters()
            if trimmed.utf8.count == name.utf8.count, trimmed.lowercased() == name.lowercased() { return true }
        }
        return false
    }

    /// Calls `body` with each of `headers` that is not hop-by-hop, in order, and with the tokens of the
    /// `Connection:` headers that name others (`listed`), for `body` to leave those out. The common
    /// case, no such `Connection:`, is one pass with `listed` nil; otherwise, as it may come after the
    /// headers it names, `restart` undoes the first pass and a second one runs with `listed` set.
    static func forEachEndToEnd(
        _ headers: HTTPHeaders, restart: () -> Void, _ body: (_ name: String, _ value: String, _ listed: String?) -> Void
    ) {
        var listed: String?
        for (name, value) in headers {
            if isHopByHop(name) {
                // `Connection: keep-alive` / `close` (what clients and servers send) name no other header.
                if name.utf8.count == 10, equalsLowercase(name, "connection"),
                   !equalsLowercase(value, "keep-alive"), !equalsLowercase(value, "close") {
                    listed = listed.map { $0 + "," + value } ?? value
                }
                continue
            }
            body(name, value, nil)
        }
        guard let listed else { return }
        restart()
        for (name, value) in headers where !isHopByHop(name) {
            body(name, value, listed)
        }
    }

    /// ASCII case-insensitive equality with a lowercase literal.
    static func equalsLowercase(_ text: String, _ lower: StaticString) -> Bool {
        guard text.utf8.count == lower.utf8CodeUnitCount else { return false }
        let expected = lower.utf8Start
        var i = 0
        for byte in text.utf8 {
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if lowered != expected[i] { return false }
            i += 1
        }
        return true
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}

/// The header lines every upstream of one client request gets, encoded once (`name: value\r\n` each).
///
/// The client's headers in their order, leaving out hop-by-hop headers, those named in `Connection:`,
/// `expect`, `content-length`, `x-request-id` and `host`; then `x-request-id` and `content-length`
/// (when given). `host` differs per upstream and is written by ``UpstreamRequest/encodedHead(allocator:)``.
enum ForwardedHeaderLines {
    static func encode(from client: HTTPHeaders, requestID: String, contentLength: Int?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        HTTPHeaders.forEachEndToEnd(client, restart: { buffer.clear() }) { name, value, listed in
            if isSetByGateway(name) || listed.map({ HTTPHeaders.isListed(name, in: $0) }) == true { return }
            buffer.writeHeaderLine(name, value)
        }
        buffer.writeHeaderLine("x-request-id", requestID)
        if let contentLength { buffer.writeHeaderLine("content-length", String(contentLength)) }
        return buffer
    }

    private static func isSetByGateway(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: HTTPHeaders.equalsLowercase(name, "host")
        case 12: HTTPHeaders.equalsLowercase(name, "x-request-id")
        case 14: HTTPHeaders.equalsLowercase(name, "content-length")
        default: false
        }
    }
}

extension HTTPHeaders {
    /// An upstream's response headers as the client gets them (see ``ClientHeaderLines``), as `HTTPHeaders`:
    /// for answers not written as HTTP/1 bytes.
    static func toClient(from upstream: UpstreamHeaderBlock, bodyLength: Int?, requestID: String, servedBy: String) -> HTTPHeaders {
        var lines = ByteBuffer()
        _ = ClientHeaderLines.write(from: upstream, bodyLength: bodyLength, noBody: false, requestID: requestID, servedBy: servedBy, to: &lines)
        return UpstreamHeaderBlock(validatedLines: lines).headers
    }

    static func toClient(from upstream: HTTPHeaders, bodyLength: Int?, requestID: String, servedBy: String) -> HTTPHeaders {
        toClient(from: UpstreamHeaderBlock(upstream), bodyLength: bodyLength, requestID: requestID, servedBy: servedBy)
    }
}

/// An upstream's response headers as the client gets them, written as `name: value\r\n` lines in one
/// pass over the upstream's bytes (no `String` per field): hop-by-hop headers, those named in
/// `Connection:` and `x-request-id` left out; `content-length` kept when it equals `bodyLength` (else
/// replaced; `nil` for HEAD: the upstream's is kept; none at all when `noBody`); then `x-request-id`
/// and `x-shadowgate-served-by` appended.
enum ClientHeaderLines {
    /// Returns whether a `content-length` line was written.
    static func write(
        from upstream: UpstreamHeaderBlock, bodyLength: Int?, noBody: Bool, requestID: String, servedBy: String,
        to buffer: inout ByteBuffer
    ) -> Bool {
        // `Connection: keep-alive` / `close` (what servers send) name no other header; anything else may.
        var listed: String?
        upstream.forEachField { name, value in
            guard name.count == 10, name.equalsLowercaseASCII("connection"),
                  !value.equalsLowercaseASCII("keep-alive"), !value.equalsLowercaseASCII("close") else { return }
            let text = String(decoding: value, as: UTF8.self)
            listed = listed.map { $0 + "," + text } ?? text
        }
        // A small string: no allocation.
        var lengthDigits = bodyLength.map { String($0) } ?? ""
        lengthDigits.makeContiguousUTF8()
        var lengthWritten = false
        func keep(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
            if isHopByHop(name) { return false }
            switch name.count {
            case 12 where name.equalsLowercaseASCII("x-request-id"):
                return false
            case 14 where name.equalsLowercaseASCII("content-length"):
                if noBody { return false }
                if bodyLength != nil {
                    // Kept in place when right (the common case); a wrong or repeated one is replaced below.
                    let right = lengthDigits.withUTF8 { UnsafeRawBufferPointer($0).elementsEqual(value) }
                    guard right, !lengthWritten else { return false }
                } else if let listed, HTTPHeaders.isListed("content-length", in: listed) {
                    return false
                }
                lengthWritten = true
                return true
            default:
                if let listed, HTTPHeaders.isListed(String(decoding: name, as: UTF8.self), in: listed) { return false }
                return true
            }
        }
        // Lines kept as they are (`name: value` and CRLF, what servers send) are copied in runs, one
        // write per run: each ByteBuffer write pays a uniqueness and an exclusivity check.
        var run: Range<Int>?
        func flushRun() {
            if let pending = run {
                upstream.bytes.withUnsafeReadableBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[pending])) }
            }
            run = nil
        }
        upstream.forEachLine { name, value, line, at in
            guard keep(name, value) else { return flushRun() }
            let canonical = line.count == name.count + value.count + 4 && line[name.count + 1] == UInt8(ascii: " ")
                && line[line.count - 2] == UInt8(ascii: "\r")
            guard canonical else {
                flushRun()
                buffer.writeBytes(name)
                buffer.writeStaticString(": ")
                buffer.writeBytes(value)
                buffer.writeStaticString("\r\n")
                return
            }
            if let pending = run, pending.upperBound == at.lowerBound {
                run = pending.lowerBound..<at.upperBound
            } else {
                flushRun()
                run = at
            }
        }
        flushRun()
        if bodyLength != nil, !noBody, !lengthWritten {
            buffer.writeHeaderLine("content-length", lengthDigits)
            lengthWritten = true
        }
        buffer.writeHeaderLine("x-request-id", requestID)
        buffer.writeHeaderLine("x-shadowgate-served-by", servedBy)
        return lengthWritten
    }

    /// Case-insensitive membership in the hop-by-hop set (as ``HTTPHeaders/isHopByHop(_:)``).
    static func isHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: name.equalsLowercaseASCII("te")
        case 6: name.equalsLowercaseASCII("expect")
        case 7: name.equalsLowercaseASCII("upgrade") || name.equalsLowercaseASCII("trailer")
        case 10: name.equalsLowercaseASCII("connection") || name.equalsLowercaseASCII("keep-alive")
        case 16: name.equalsLowercaseASCII("proxy-connection")
        case 17: name.equalsLowercaseASCII("transfer-encoding")
        case 18: name.equalsLowercaseASCII("proxy-authenticate")
        case 19: name.equalsLowercaseASCII("proxy-authorization")
        default: false
        }
    }
}
