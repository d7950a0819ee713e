#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking loopback TCP client for tests that need what NIO's client hides: a send that fails on a
/// TCP reset, a read that tells EOF from a reset. Blocking: use it through `onThread`, never on the
/// cooperative pool. Every send and receive gives up after `timeoutSeconds`. Sendable so one test can
/// hand it from one `onThread` call to the next; it is never used by two threads at once.
public final class BlockingTestSocket: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let call: String
        public let code: Int32
        public var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// How a read ended.
    public enum End: Equatable, Sendable, CustomStringConvertible {
        case eof
        /// `errno` of the failed `recv` (ECONNRESET; EAGAIN when the timeout passed).
        case error(Int32)
        public var description: String {
            switch self {
            case .eof: "EOF"
            case .error(let code): String(cString: strerror(code))
            }
        }
    }

    private let fd: Int32
    private var isClosed = false

    /// - Parameter sendBuffer: `SO_SNDBUF` (the kernel doubles it); small, a large send is still in
    ///   progress when the peer answers.
    public init(port: Int, timeoutSeconds: Int = 10, sendBuffer: Int? = nil) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        if var size = sendBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard LoopbackAddress.connect(fd, port: port) == 0 else {
            let code = errno
            _ = systemClose(fd)
            throw Failure(call: "connect", code: code)
        }
    }

    deinit { close() }

    /// Closes the socket (the peer reads EOF).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = systemClose(fd)
    }

    /// Sends all of `bytes`. Returns nil once all were sent, or the `errno` of the send that failed
    /// (EPIPE or ECONNRESET when the peer closed or reset).
    public func send(_ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let sent = bytes[offset...].withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count, flags) }
            if sent < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += sent
        }
        return nil
    }

    /// Reads until EOF, an error or the timeout; returns what was read and how it ended.
    public func readToEnd() -> (bytes: [UInt8], end: End) {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (all, .eof) }
            if count < 0 {
                if errno == EINTR { continue }
                return (all, .error(errno))
            }
            all.append(contentsOf: chunk[0..<count])
        }
    }
}

private func systemSend(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    send(fd, buffer, count, flags)
}

private func systemClose(_ fd: Int32) -> Int32 {
    close(fd)
}
