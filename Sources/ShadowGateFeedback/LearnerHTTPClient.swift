import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client for posting deliveries to one learner over one keep-alive connection.
///
/// It runs only on the deliverer's own thread (never an event loop): delivery is sequential by
/// design — a batch is posted, answered, and only then is the next one read — so one connection
/// and plain blocking sockets are all it needs.
///
/// Promises: ``post(path:body:headers:)`` returns the response status or throws a
/// ``LearnerPostError`` sentence (connect refused, timed out, closed early, not HTTP); after any
/// error the connection is closed and the next call connects again. A reused connection the
/// learner had closed while idle is retried once on a fresh one.
final class LearnerHTTPClient {
    let host: String
    let port: Int
    let timeout: Duration
    private var fd: Int32 = -1

    init(host: String, port: Int, timeout: Duration) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func post(path: String, body: [UInt8], headers: [(String, String)]) throws(LearnerPostError) -> Int {
        var request = "POST \(path) HTTP/1.1\r\nhost: \(port == 80 ? host : "\(host):\(port)")\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        var bytes = Array(request.utf8)
        bytes.append(contentsOf: body)
        let reused = fd >= 0
        do {
            return try exchange(bytes)
        } catch where reused && error.mayBeStaleConnection {
            return try exchange(bytes)
        }
    }

    private func exchange(_ bytes: [UInt8]) throws(LearnerPostError) -> Int {
        do {
            if fd < 0 { try connect() }
            try writeAll(bytes)
            return try readResponse()
        } catch {
            close()
            throw error
        }
    }

    private func connect() throws(LearnerPostError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw LearnerPostError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            guard s >= 0 else { continue }
            let flags = fcntl(s, F_GETFL)
            _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
            var rc = Glibc.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if rc != 0 && errno == EINPROGRESS {
                var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
                rc = poll(&p, 1, Int32(timeout.milliseconds)) == 1 ? 0 : -1
                if rc == 0 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err != 0 { rc = -1; errno = err } 
                } else {
                    errno = ETIMEDOUT
                }
            }
            guard rc == 0 else {
                lastError = String(cString: strerror(errno))
                Glibc.close(s)
                continue
            }
            _ = fcntl(s, F_SETFL, flags)
            var one: Int32 = 1
            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var tv = timeval(tv_sec: Int(timeout.milliseconds / 1000), tv_usec: Int(timeout.milliseconds % 1000) * 1000)
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            fd = s
            return
        }
        throw LearnerPostError("cannot connect to \(host):\(port): \(lastError)")
    }

    private func writeAll(_ bytes: [UInt8]) throws(LearnerPostError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LearnerPostError("sending to the learner failed: \(String(cString: strerror(errno)))", stale: true) }
            sent += n
        }
    }

    private var buffer: [UInt8] = []

    private func fill() throws(LearnerPostError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw LearnerPostError("the learner did not answer within \(timeout.milliseconds) ms") }
            throw LearnerPostError("reading the learner's answer failed: \(String(cString: strerror(errno)))")
        }
    }

    private func readResponse() throws(LearnerPostError) -> Int {
        buffer.removeAll(keepingCapacity: true)
        var headerEnd: Int?
        while headerEnd == nil {
            guard try fill() else {
                throw LearnerPostError("the learner closed the connection before answering", stale: buffer.isEmpty)
            }
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headerEnd == nil && buffer.count > 64 * 1024 { throw LearnerPostError("the learner's answer has no end of headers") }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw LearnerPostError("the learner's answer is not HTTP/1.x")
        }
        var keepAlive = statusLine[0] == "HTTP/1.1"
        var length: Int?
        var chunked = false
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).lowercased()
            switch name {
            case "content-length": length = Int(value)
            case "transfer-encoding": chunked = value.contains("chunked")
            case "connection": keepAlive = value.contains("keep-alive") || (keepAlive && !value.contains("close"))
            default: break
            }
        }
        var rest = Array(buffer[(headerEnd! + 4)...])
        buffer = rest
        if chunked {
            // Read to the terminating zero-length chunk; the body itself is not needed.
            while Self.find(Array("\r\n0\r\n\r\n".utf8), in: buffer) == nil && !(buffer.starts(with: Array("0\r\n\r\n".utf8))) {
                guard try fill() else { throw LearnerPostError("the learner closed the connection mid-answer") }
            }
        } else if let length {
            while buffer.count < length {
                guard try fill() else { throw LearnerPostError("the learner closed the connection mid-answer") }
            }
        } else if status != 204 && status != 304 {
            while try fill() {}
            keepAlive = false
        }
        rest = []
        if !keepAlive { close() }
        return status
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// Why a delivery POST got no HTTP status, as a sentence for logs.
struct LearnerPostError: Error, CustomStringConvertible {
    var description: String
    /// The failure could be a keep-alive connection the learner had already closed.
    var mayBeStaleConnection: Bool

    init(_ description: String, stale: Bool = false) {
        self.description = description
        self.mayBeStaleConnection = stale
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
