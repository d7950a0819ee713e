#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that refuses connections: bound (so no other test can take it) but never listening.
///
/// A stopped stub's port is not a safe "down upstream" in parallel tests: the OS may hand it to
/// the next server a test starts, which then answers in its place.
public final class RefusingPort: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    /// - Parameters:
    ///   - port: a free loopback port (0), or this one.
    ///   - sharedWithListeners: sets SO_REUSEPORT, so the port can be held while a listener with
    ///     that option still has it, and a new such listener can bind before this lets it go (a
    ///     stub that goes down and comes back keeps its port without a gap another test could use).
    ///     Connections still go to listening sockets only.
    public init(port: Int = 0, sharedWithListeners: Bool = false) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RefusingPortError(errno: errno) }
        if sharedWithListeners {
            var on: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        guard let bound = LoopbackAddress.bind(fd, port: port) else {
            let code = errno
            close(fd)
            throw RefusingPortError(errno: code)
        }
        self.fd = fd
        self.port = bound
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    deinit { close(fd) }
}

public struct RefusingPortError: Error {
    public var errno: Int32
}
