import NIOCore

/// The chunked body of an HTTP/1.1 message (RFC 9112 §7.1), framed out of bytes as they come, as a
/// value: chunk data comes out as slices of the bytes read (no copy); chunk-size, chunk-end and
/// trailer lines are read and dropped. Both HTTP/1 parsers frame chunked bodies with it, each under
/// its own rules:
/// - ``Rules/request`` (llhttp's, which ``HTTP1RequestDecoder`` keeps): every line ends with CRLF; a
///   size line holds hex digits and then only `;` extensions without control bytes; trailers are
///   field lines and never ones that frame (`Content-Length`, `Transfer-Encoding`); and a size or
///   chunk-end line still arriving is refused as soon as it cannot become a valid one.
/// - ``Rules/response`` (lenient, as ``UpstreamResponseParser`` reads what upstreams send): a bare LF
///   ends a line, blanks may follow the size, trailers are dropped unread.
///
/// Failure: a ``Failure`` for input that breaks the rules, a line still without its end past
/// ``maxLineBytes``, or a chunk over the caller's limit; the message cannot be framed further, and
/// each parser maps the failure to its own errors.
struct HTTP1ChunkedBody {
    enum Rules {
        case request
        case response
    }

    enum Failure: Error, Equatable {
        /// A size line that is not hex digits and extensions.
        case badChunkSize
        /// Chunk data longer than its size: no line end right after it.
        case missingChunkEnd
        /// More than ``maxLineBytes`` of a size, chunk-end or trailer line without its end.
        case lineTooLong
        /// A line ending with LF alone (request rules).
        case bareLF
        /// A trailer that is not a field line, or one that frames (request rules).
        case badTrailer
        /// A chunk larger than the caller's limit.
        case chunkTooLarge
    }

    enum Event {
        /// A piece of chunk data, a slice of the bytes read.
        case data(ByteBuffer)
        /// The last chunk and the trailers' empty line were read: the body is complete.
        case end
    }

    /// A chunk-size, chunk-end or trailer line still without its end past this many bytes is refused
    /// (one that arrives whole in a single read is taken, as both parsers did before they shared this).
    static let maxLineBytes = 8 * 1024

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    let rules: Rules
    private var state = State.size

    init(rules: Rules) {
        self.rules = rules
    }

    /// True while the bytes expected next are a trailer line: a caller with rules of its own for
    /// field lines still arriving checks them then (the request decoder does, as for its head).
    var isReadingTrailers: Bool {
        if case .trailers = state { return true }
        return false
    }

    /// The next event that `buffer` completes, consuming what it reads; `nil` when more bytes are
    /// needed. A chunk whose size line declares more than `chunkLimit` bytes is refused before its
    /// data is read.
    mutating func next(_ buffer: inout ByteBuffer, chunkLimit: Int = .max) throws(Failure) -> Event? {
        while true {
            switch state {
            case .size:
                guard let line = try line(buffer) else {
                    if rules == .request { try checkPartialSizeLine(buffer) }
                    return nil
                }
                let size = buffer.withUnsafeReadableBytes {
                    HTTP1Syntax.chunkSize(UnsafeRawBufferPointer(rebasing: $0[..<line.content]), strict: rules == .request)
                }
                guard let size else { throw .badChunkSize }
                buffer.moveReaderIndex(forwardBy: line.length)
                if size == 0 {
                    state = .trailers
                } else {
                    if size > chunkLimit { throw .chunkTooLarge }
                    state = .data(remaining: size)
                }
            case .data(let remaining):
                let n = min(remaining, buffer.readableBytes)
                guard n > 0 else { return nil }
                state = n == remaining ? .dataEnd : .data(remaining: remaining - n)
                return .data(buffer.readSlice(length: n)!)
            case .dataEnd:
                guard let line = try line(buffer) else {
                    // Request rules: only the CR of the CRLF may have come.
                    if rules == .request,
                       buffer.readableBytes > 1 || buffer.getInteger(at: buffer.readerIndex, as: UInt8.self).map({ $0 != 0x0D }) == true {
                        throw .missingChunkEnd
                    }
                    return nil
                }
                guard line.content == 0 else { throw .missingChunkEnd }
                buffer.moveReaderIndex(forwardBy: line.length)
                state = .size
            case .trailers:
                guard let line = try line(buffer) else { return nil }
                if line.content > 0, rules == .request,
                   !buffer.withUnsafeReadableBytes({ Self.isTrailer(UnsafeRawBufferPointer(rebasing: $0[..<line.content])) }) {
                    throw .badTrailer
                }
                buffer.moveReaderIndex(forwardBy: line.length)
                if line.content == 0 {
                    state = .size
                    return .end
                }
            }
        }
    }

    /// The next line: `content` bytes before its line end, `length` with it.
    private func line(_ buffer: ByteBuffer) throws(Failure) -> (content: Int, length: Int)? {
        guard let found = buffer.withUnsafeReadableBytes({ HTTP1Syntax.line($0) }) else {
            if buffer.readableBytes > Self.maxLineBytes { throw .lineTooLong }
            return nil
        }
        if rules == .request, found.length - found.content != 2 { throw .bareLF }
        return found
    }

    /// A size line still arriving, as llhttp checks it: hex digits, then an extension, then CR. Every
    /// start of a valid size line is one, so the first KiB of what came is checked whole, its CR aside.
    private func checkPartialSizeLine(_ buffer: ByteBuffer) throws(Failure) {
        let valid = buffer.withUnsafeReadableBytes { all -> Bool in
            let bytes = UnsafeRawBufferPointer(rebasing: all[..<min(all.count, 1024)])
            var end = bytes.count
            if end > 1, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            return end == 0 || HTTP1Syntax.chunkSize(UnsafeRawBufferPointer(rebasing: bytes[..<end]), strict: true) != nil
        }
        if !valid { throw .badChunkSize }
    }

    /// A trailer is a field like any other, and never one that frames (llhttp refuses those too).
    private static func isTrailer(_ line: UnsafeRawBufferPointer) -> Bool {
        guard case .success(let (name, _)) = HTTP1Syntax.field(line) else { return false }
        return !name.equalsLowercaseASCII("content-length") && !name.equalsLowercaseASCII("transfer-encoding")
    }
}
