import NIOHPACK

/// A gRPC status the gateway answers with itself (trailers-only responses), with the codes it uses.
///
/// Promise: every error the gateway makes on the gRPC listener is a proper gRPC status in a
/// trailers-only response (`:status 200`, `content-type: application/grpc`, `grpc-status`,
/// `grpc-message`), so gRPC clients report it as an RPC error, never as a transport failure.
public struct GRPCStatus: Sendable, Equatable, Error {
    public var code: Int
    public var message: String

    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    public static let invalidArgument = 3
    public static let deadlineExceeded = 4
    public static let notFound = 5
    public static let resourceExhausted = 8
    public static let unimplemented = 12
    public static let `internal` = 13
    public static let unavailable = 14

    /// The headers of a trailers-only response carrying this status.
    public var trailersOnly: HPACKHeaders {
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "grpc-status", value: String(code))
        headers.add(name: "grpc-message", value: Self.percentEncoded(message))
        headers.add(name: "x-shadowgate-served-by", value: "gateway")
        return headers
    }

    /// grpc-message is percent-encoded (gRPC over HTTP/2 spec): bytes outside 0x20–0x7E and `%`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20, byte <= 0x7e, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
