/// What a route hashes to give a request a sticky canary bucket.
public enum StickyKey: Sendable, Hashable, CustomStringConvertible {
    /// A request header, e.g. `header:x-user-id`.
    case header(String)
    /// A field of the JSON request body, by JSON pointer, e.g. `json:/parameters/user`.
    case jsonPointer(String)
    /// The request id (a fresh UUID unless the client sent `x-request-id`).
    case requestID

    public init?(parsing text: String) {
        if text == "request-id" {
            self = .requestID
        } else if text.hasPrefix("header:"), text.count > "header:".count {
            self = .header(String(text.dropFirst("header:".count)).lowercased())
        } else if text.hasPrefix("json:/") {
            self = .jsonPointer(String(text.dropFirst("json:".count)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .header(let name): "header:\(name)"
        case .jsonPointer(let pointer): "json:\(pointer)"
        case .requestID: "request-id"
        }
    }
}
