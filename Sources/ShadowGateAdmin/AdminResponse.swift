import NIOHTTP1
import ShadowGateAdapters

/// An admin API answer: a status and a JSON body (errors are `{"error": "..."}`).
public struct AdminResponse: Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var json: String
    public var headers: [(String, String)] = []

    public init(status: HTTPResponseStatus, json: String, headers: [(String, String)] = []) {
        self.status = status
        self.json = json
        self.headers = headers
    }

    public static func error(_ status: HTTPResponseStatus, _ message: String, headers: [(String, String)] = []) -> AdminResponse {
        AdminResponse(status: status, json: "{\"error\":\(JSONLiteral.string(message))}", headers: headers)
    }

    public static func == (lhs: AdminResponse, rhs: AdminResponse) -> Bool {
        lhs.status == rhs.status && lhs.json == rhs.json && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }
}
