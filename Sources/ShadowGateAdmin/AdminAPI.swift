import LibPQ
import Logging
import NIOHTTP1
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGateControl
import ShadowGateRouting

/// The admin API's behaviour, apart from sockets: authentication, routing, validation, and the
/// flag reads and changes through ``FlagStore``.
///
/// Promises: every call needs `Authorization: Bearer <token>` (compared in constant time); without
/// it, or with a wrong one, the answer is 401 and nothing is read or changed. An unknown route is
/// 404, a body that is not JSON 400, values out of range (a percent of 140) 422 — each with a JSON
/// error and nothing changed. A change is audited by `set_flags()` with the caller's address as
/// the actor; every gateway applies it through its flag watcher.
public struct AdminAPI: Sendable {
    /// The request as the handler collected it.
    public struct Request: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var authorization: String?
        public var body: [UInt8]
        public var remoteAddress: String

        public init(method: HTTPMethod, path: String, authorization: String?, body: [UInt8], remoteAddress: String) {
            self.method = method
            self.path = path
            self.authorization = authorization
            self.body = body
            self.remoteAddress = remoteAddress
        }
    }

    private static let logger = Logger(label: "shadowgate.admin")
    private let token: [UInt8]
    private let routes: [String: RouteConfig]
    private let database: SerialDatabase

    public init(token: String, routes: [RouteConfig], database: SerialDatabase) {
        self.token = Array(token.utf8)
        self.routes = Dictionary(routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.database = database
    }

    public func handle(_ request: Request) async -> AdminResponse {
        guard isAuthorized(request.authorization) else {
            return .error(.unauthorized, "a valid bearer token is required (Authorization: Bearer <SHADOWGATE_ADMIN_TOKEN>)",
                          headers: [("www-authenticate", "Bearer realm=\"shadowgate-admin\"")])
        }
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 2, parts[0] == "admin", parts[1] == "routes", parts.count <= 3 else {
            return .error(.notFound, "no admin endpoint at \(path) (endpoints: GET /admin/routes, GET|PUT /admin/routes/{name})")
        }
        do {
            if parts.count == 2 {
                guard request.method == .GET else { return methodNotAllowed(path, allow: "GET") }
                let records = try await database.run { try FlagStore(connection: $0).all() }
                let known = records.filter { routes[$0.route] != nil }
                return AdminResponse(status: .ok, json: "{\"routes\":[" + known.map(render).joined(separator: ",") + "]}")
            }
            let name = parts[2].removingPercentEncoding ?? parts[2]
            guard let route = routes[name] else {
                return .error(.notFound, "unknown route '\(name)' (routes: \(routes.keys.sorted().joined(separator: ", ")))")
            }
            switch request.method {
            case .GET:
                guard let record = try await database.run({ try FlagStore(connection: $0).get(route: name) }) else {
                    return .error(.notFound, "route '\(name)' has no flags yet")
                }
                return AdminResponse(status: .ok, json: render(record))
            case .PUT:
                return try await update(route: route, request: request)
            default:
                return methodNotAllowed(path, allow: "GET, PUT")
            }
        } catch let error as FlagStoreError {
            switch error.kind {
            case .unknownRoute: return .error(.notFound, error.message)
            case .invalidValue: return .error(.unprocessableEntity, error.message)
            case .conflict: return .error(.conflict, error.message + "; read the flags again and retry")
            case .database:
                // The store's message is already a plain sentence (no connection string, no SQL); log it too.
                Self.logger.error("flag database error", metadata: ["error": "\(error.message)"])
                return .error(.serviceUnavailable, error.message)
            }
        } catch {
            Self.logger.error("flag database error", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, "the flag database is unavailable: \(error)")
        }
    }

    private func update(route: RouteConfig, request: Request) async throws -> AdminResponse {
        let update: FlagUpdateRequest
        do {
            update = try FlagUpdateRequest.parse(request.body)
        } catch {
            return .error(error.unprocessable ? .unprocessableEntity : .badRequest, error.message)
        }
        if update.mode.map({ $0 != .legacy }) ?? false, route.learner == nil {
            return .error(.unprocessableEntity, "route '\(route.name)' has no learner, so it can only run in legacy mode")
        }
        let window = route.promotion?.window ?? .seconds(3600)
        let actor = FlagActor.admin(address: request.remoteAddress)
        let name = route.name
        let outcome: Result<FlagRecord, FlagUpdateRequest.Refusal> = try await database.run { connection in
            let store = FlagStore(connection: connection)
            guard let current = try store.get(route: name) else {
                throw FlagStoreError(.unknownRoute, "route '\(name)' has no flags yet")
            }
            let target: (mode: RouteMode, percent: Double)
            switch Result(catching: { () throws(FlagUpdateRequest.Refusal) in try update.target(current: current.flags) }) {
            case .success(let value): target = value
            case .failure(let refusal): return .failure(refusal)
            }
            return .success(try store.change(route: name, FlagStore.Change(
                mode: target.mode, canaryPercent: target.percent, actor: actor,
                action: .set, reason: update.reason, window: window, expectedRevision: current.revision)))
        }
        switch outcome {
        case .success(let record): return AdminResponse(status: .ok, json: render(record))
        case .failure(let refusal): return .error(.unprocessableEntity, refusal.message)
        }
    }

    private func methodNotAllowed(_ path: String, allow: String) -> AdminResponse {
        .error(.methodNotAllowed, "\(path) answers \(allow)", headers: [("allow", allow)])
    }

    private func isAuthorized(_ header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(header.dropFirst(7).utf8)
        guard given.count == token.count, !token.isEmpty else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(given, token) { difference |= a ^ b }
        return difference == 0
    }

    private func render(_ record: FlagRecord) -> String {
        let promotion = routes[record.route]?.promotion?.enabled == true
        return "{\"name\":\(JSONLiteral.string(record.route)),\"mode\":\"\(record.flags.mode.rawValue)\","
            + "\"canary_percent\":\(JSONLiteral.number(record.flags.canaryPercent)),"
            + "\"shadow_percent\":\(JSONLiteral.number(record.flags.shadowPercent)),"
            + "\"revision\":\(record.revision),\"updated_at\":\(JSONLiteral.number(record.updatedAt)),"
            + "\"updated_by\":\(JSONLiteral.string(record.updatedBy)),\"reason\":\(JSONLiteral.string(record.reason)),"
            + "\"promotion_enabled\":\(promotion)}"
    }
}
