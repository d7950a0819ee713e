import ShadowGateConfig
import ShadowGateRouting
import Synchronization

/// The live flags of every route, read on each request and changed at run time (admin API, flag watcher).
///
/// A change is visible to the next request that reads it, on every event loop.
public final class RouteFlagsStore: Sendable {
    private let flags: Mutex<[RouteFlags]>
    private let names: [String: Int]

    public init(routes: [RouteConfig]) {
        flags = Mutex(routes.map(\.initialFlags))
        names = Dictionary(routes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func flags(routeIndex: Int) -> RouteFlags {
        flags.withLock { $0[routeIndex] }
    }

    /// The flags of a route by name; `nil` for an unknown route.
    public func flags(route: String) -> RouteFlags? {
        guard let index = names[route] else { return nil }
        return flags(routeIndex: index)
    }

    /// Replaces a route's flags; `false` for an unknown route.
    @discardableResult
    public func set(route: String, to newFlags: RouteFlags) -> Bool {
        guard let index = names[route] else { return false }
        flags.withLock { $0[index] = newFlags }
        return true
    }
}
