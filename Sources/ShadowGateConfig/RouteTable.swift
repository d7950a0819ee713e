/// Finds the route of a request path.
///
/// Exact paths are looked up in a dictionary; paths with `*` segments (`*` or `*suffix`) are tried in config order.
/// Model metadata and readiness paths of a route's model (`/v2/models/{name}`,
/// `/v2/models/{name}/ready`, `/v1/models/{name}`) match as ``Match/passThrough``: forwarded to the
/// serving model, not mirrored, no pair recorded.
public struct RouteTable: Sendable {
    public enum Match: Sendable, Equatable {
        /// An inference call: routed, mirrored, recorded.
        case inference(routeIndex: Int)
        /// A metadata or readiness call for the route's model: forwarded only.
        case passThrough(routeIndex: Int)
    }

    public let routes: [RouteConfig]
    private let exact: [String: Int]
    private let patterns: [(segments: [Substring], index: Int)]
    private let modelPrefixes: [(prefix: String, index: Int)]

    public init(routes: [RouteConfig]) {
        self.routes = routes
        var exact: [String: Int] = [:]
        var patterns: [([Substring], Int)] = []
        var prefixes: [(String, Int)] = []
        for (index, route) in routes.enumerated() {
            for path in route.match {
                if path.contains("*") {
                    patterns.append((path.split(separator: "/", omittingEmptySubsequences: false), index))
                } else {
                    exact[path] = exact[path] ?? index
                }
            }
            if let name = route.modelName {
                let version = route.match.first { $0.hasPrefix("/v1/") } != nil ? "v1" : "v2"
                prefixes.append(("/\(version)/models/\(name)", index))
            }
        }
        self.exact = exact
        self.patterns = patterns
        self.modelPrefixes = prefixes
    }

    /// The route for a request target (the query string is ignored).
    public func match(uri: String) -> Match? {
        // Bytes, not Characters: this runs for every request, and `?`/`#` are ASCII.
        let path: Substring
        if let q = uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            path = uri[..<q]
            if let index = exact[String(path)] { return .inference(routeIndex: index) }
        } else {
            path = uri[...]
            if let index = exact[uri] { return .inference(routeIndex: index) }
        }
        if !patterns.isEmpty {
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            for pattern in patterns where pattern.segments.count == segments.count {
                if zip(pattern.segments, segments).allSatisfy(Self.segmentMatches) {
                    return .inference(routeIndex: pattern.index)
                }
            }
        }
        for (prefix, index) in modelPrefixes where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if rest.isEmpty || rest == "/ready" || rest.hasPrefix("/versions/") {
                if rest.hasSuffix("/infer") || rest.hasSuffix(":predict") { return .inference(routeIndex: index) }
                return .passThrough(routeIndex: index)
            }
        }
        return nil
    }

    /// `*` matches any one segment; `*suffix` (e.g. `*:predict`) any segment ending in the suffix.
    private static func segmentMatches(_ pattern: Substring, _ segment: Substring) -> Bool {
        if pattern == "*" { return true }
        if pattern.first == "*" { return segment.hasSuffix(pattern.dropFirst()) }
        return pattern == segment
    }
}
