import Foundation
import ShadowGateConfig
import ShadowGateConfigYAML
import Testing

@Suite("TLS configuration")
struct TLSConfigTests {
    @Test("https upstreams, their tls keys and listener tls are read")
    func readsTLS() throws {
        let config = try GatewayConfig.parse(yaml: """
            listen: 0.0.0.0:8443
            tls: { cert_file: /etc/sg/server.pem, key_file: /etc/sg/server.key, client_ca_file: /etc/sg/clients.pem }
            admin:
              listen: 127.0.0.1:9443
              tls: { cert_file: /etc/sg/admin.pem, key_file: /etc/sg/admin.key, reload_check_ms: 0 }
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                legacy:
                  url: https://legacy.internal
                  tls: { ca_file: /etc/sg/ca.pem, cert_file: /etc/sg/gw.pem, key_file: /etc/sg/gw.key, server_name: legacy.svc }
                learner: { url: "https://10.0.0.7:8443/base" }
            """)
        let legacy = config.routes[0].legacy
        #expect(legacy.port == 443)
        #expect(legacy.authority == "legacy.internal")
        #expect(legacy.tls == UpstreamTLSConfig(
            verify: true, caFile: "/etc/sg/ca.pem", certFile: "/etc/sg/gw.pem", keyFile: "/etc/sg/gw.key",
            serverName: "legacy.svc", configKey: "routes[0].legacy.tls"))
        let learner = try #require(config.routes[0].learner)
        #expect(learner.tls?.verify == true)
        #expect(learner.tls?.caFile == nil)
        #expect(learner.basePath == "/base")
        #expect(learner.authority == "10.0.0.7:8443")
        #expect(config.listenTLS == ListenerTLSConfig(certFile: "/etc/sg/server.pem", keyFile: "/etc/sg/server.key", clientCAFile: "/etc/sg/clients.pem", configKey: "tls"))
        #expect(config.adminTLS?.reloadCheckMillis == 0)
        #expect(config.adminTLS?.configKey == "admin.tls")
        #expect(try UpstreamConfig(url: "http://h:1").tls == nil)
    }

    @Test("bad tls settings are refused naming the key", arguments: [
        ("legacy: {url: 'http://h:1', tls: {verify: false}}", "routes[0].legacy.tls", "only an https://"),
        ("legacy: {url: 'https://h:1', tls: {cert_file: /a.pem}}", "routes[0].legacy.tls", "go together"),
        ("legacy: {url: 'https://h:1', tls: {verify: false, ca_file: /ca.pem}}", "routes[0].legacy.tls", "no effect"),
        ("legacy: {url: 'https://h:1', tls: {ca: /ca.pem}}", "routes[0].legacy.tls.ca", "unknown key"),
        ("legacy: {url: 'https://h:1', tls: {verify: maybe}}", "routes[0].legacy.tls.verify", "true or false"),
    ])
    func refused(legacy: String, key: String, problem: String) {
        let yaml = "listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    \(legacy)\n    learner: {url: 'http://h:2'}"
        #expect {
            try GatewayConfig.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.description.contains(problem)
        }
    }

    @Test("config/shadowgate-tls-grpc.yaml, the README's TLS example, is valid")
    func exampleFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("config/shadowgate-tls-grpc.yaml"), encoding: .utf8)
        let config = try GatewayConfig.parse(yaml: text)
        #expect(config.listenTLS?.clientCAFile == "/etc/shadowgate/tls/clients-ca.pem")
        #expect(config.routes[0].learner?.tls?.serverName == "learner.models.internal")
        let grpc = try #require(config.grpc)
        #expect(grpc.routes[0].route == "churn" && grpc.routes[0].models == ["churn"])
        #expect(grpc.routes[0].legacy.tls?.caFile == "/etc/shadowgate/tls/mesh-ca.pem")
        #expect(grpc.routes[0].learner?.tls == nil)
        #expect(grpc.maxMessageBytes == 4 << 20)
        #expect(grpc.routeIndex(model: "churn") == 0 && grpc.routeIndex(model: "other") == nil)
    }

    @Test("bad grpc settings are refused naming the key", arguments: [
        ("grpc: {listen: 127.0.0.1:2, routes: [{route: nope, models: [a], legacy: {url: 'http://h:3'}, learner: {url: 'http://h:4'}}]}", "grpc.routes[0].route", "no route named 'nope'"),
        ("grpc: {listen: 127.0.0.1:2, routes: [{route: a, models: [m], legacy: {url: 'http://h:3'}}]}", "grpc.routes[0]", "needs a 'learner'"),
        ("grpc: {listen: 127.0.0.1:2, routes: [{route: a, models: [m], legacy: {url: 'http://h:3'}, learner: {url: 'http://h:4'}}, {route: a, models: [m], legacy: {url: 'http://h:3'}, learner: {url: 'http://h:4'}}]}", "grpc.routes[1].models", "already routed"),
        ("grpc: {listen: 127.0.0.1:2, max_message_bytes: 10, routes: []}", "grpc.max_message_bytes", "out of range"),
    ])
    func grpcRefused(grpc: String, key: String, problem: String) {
        let yaml = "listen: 127.0.0.1:1\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}\n\(grpc)"
        #expect {
            try GatewayConfig.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.description.contains(problem)
        }
    }

    @Test("listener tls needs both files")
    func listenerNeedsFiles() {
        #expect {
            try GatewayConfig.parse(yaml: "listen: 127.0.0.1:1\ntls: {cert_file: /a.pem}\nroutes:\n  - name: a\n    match: [/x]\n    legacy: {url: 'http://h:1'}\n    learner: {url: 'http://h:2'}")
        } throws: { error in
            (error as? ConfigError)?.key == "tls" && "\(error)".contains("'key_file' is required")
        }
    }
}
