import ShadowGateConfig
import ShadowGateConfigYAML
import Testing

@Suite("Configuration")
struct GatewayConfigTests {
    static let valid = """
        listen: 127.0.0.1:8080
        event_loops: 2
        database:
          batch_rows: 1000
          flush_ms: 20
        routes:
          - name: churn
            match: ["/v2/models/churn/infer"]
            protocol: oip-v2
            mode: shadow
            shadow_percent: 50
            sticky_key: header:X-User-Id
            legacy:  { url: "http://127.0.0.1:9001", timeout_ms: 1000, pool: 64 }
            learner: { url: "http://127.0.0.1:9002/base/", timeout_ms: 300, pool: 8, feedback_path: /learn }
        """

    @Test("a valid file is read with every key")
    func valid() throws {
        let config = try GatewayConfig.parse(yaml: Self.valid)
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(config.eventLoops == 2)
        #expect(config.database.batchRows == 1000)
        #expect(config.database.flushMillis == 20)
        #expect(config.database.url == nil)
        let route = try #require(config.routes.first)
        #expect(route.name == "churn")
        #expect(route.shadowPercent == 50)
        #expect(route.stickyKey == .header("x-user-id"))
        #expect(route.legacy.port == 9001)
        #expect(route.learner?.basePath == "/base")
        #expect(route.learner?.feedbackPath == "/learn")
        #expect(route.learner?.poolSize == 8)
        #expect(route.modelName == "churn")
    }

    /// Each bad file is refused with a message that names the key and the problem.
    @Test("bad files are refused naming the key", arguments: [
        ("listen: nope\nroutes: []", "listen", "not host:port"),
        ("listen: 127.0.0.1:1\n", "routes", "required"),
        ("listen: 127.0.0.1:1\nlisten_typo: 1\nroutes: []", "listen_typo", "unknown key"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'ftp://h'}\n    learner: {url: 'http://h:1'}", "routes[0].legacy.url", "http://host:port"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    mode: turbo\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}", "routes[0].mode", "turbo"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    canary_percent: 140\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}", "routes[0].canary_percent", "out of range"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1', timeout_ms: fast}\n    learner: {url: 'http://h:2'}", "routes[0].legacy.timeout_ms", "whole number"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}", "routes[0].mode", "needs a 'learner'"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}\n  - name: a\n    match: [/y]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}", "routes[1].name", "used twice"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}\n  - name: b\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}", "routes[1].match", "already matched"),
        ("listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    protocol: json\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}", "routes[0]", "prediction_pointer"),
        ("listen: [unclosed", "", "not valid YAML"),
    ])
    func refused(yaml: String, key: String, problem: String) {
        #expect {
            try GatewayConfig.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.description.contains(problem)
        }
    }

    @Test("route table: exact, wildcard, versioned infer and metadata pass-through")
    func routeTable() throws {
        let config = try GatewayConfig.parse(yaml: """
            listen: 127.0.0.1:1
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                legacy: {url: 'http://h:1'}
                learner: {url: 'http://h:2'}
              - name: tf
                match: ["/v1/models/tf:predict", "/v1/models/*/versions/*:predict"]
                protocol: kserve-v1
                legacy: {url: 'http://h:1'}
                learner: {url: 'http://h:2'}
            """)
        let table = RouteTable(routes: config.routes)
        #expect(table.match(uri: "/v2/models/churn/infer") == .inference(routeIndex: 0))
        #expect(table.match(uri: "/v2/models/churn/infer?x=1") == .inference(routeIndex: 0))
        #expect(table.match(uri: "/v2/models/churn/versions/3/infer") == .inference(routeIndex: 0))
        #expect(table.match(uri: "/v2/models/churn") == .passThrough(routeIndex: 0))
        #expect(table.match(uri: "/v2/models/churn/ready") == .passThrough(routeIndex: 0))
        #expect(table.match(uri: "/v1/models/tf:predict") == .inference(routeIndex: 1))
        #expect(table.match(uri: "/v1/models/tf/versions/2:predict") == .inference(routeIndex: 1))
        #expect(table.match(uri: "/v1/models/tf") == .passThrough(routeIndex: 1))
        #expect(table.match(uri: "/v2/models/churnx/infer") == nil)
        #expect(table.match(uri: "/other") == nil)
    }

    @Test("limits.client_linger_timeout_ms: 2 s by default, 0 turns lingering off, above 10 minutes refused")
    func lingerTimeout() throws {
        let routes = "routes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}"
        #expect(try GatewayConfig.parse(yaml: "listen: 127.0.0.1:1\n" + routes).limits.clientLingerTimeoutMillis == 2000)
        #expect(try GatewayConfig.parse(yaml: "listen: 127.0.0.1:1\nlimits: {client_linger_timeout_ms: 0}\n" + routes).limits.clientLingerTimeoutMillis == 0)
        #expect(try GatewayConfig.parse(yaml: "listen: 127.0.0.1:1\nlimits: {client_linger_timeout_ms: 750}\n" + routes).limits.clientLingerTimeoutMillis == 750)
        #expect {
            try GatewayConfig.parse(yaml: "listen: 127.0.0.1:1\nlimits: {client_linger_timeout_ms: 600001}\n" + routes)
        } throws: { error in
            (error as? ConfigError)?.key == "limits.client_linger_timeout_ms"
        }
    }
}
