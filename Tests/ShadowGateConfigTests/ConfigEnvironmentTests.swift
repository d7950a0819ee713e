import ShadowGateConfig
import ShadowGateConfigYAML
import Testing

@Suite struct ConfigEnvironmentTests {
    let yaml = """
        listen: 127.0.0.1:8080
        database:
          batch_rows: 100
        routes:
          - name: churn
            match: ["/v2/models/churn/infer"]
            legacy: { url: "http://127.0.0.1:9001" }
            learner: { url: "http://127.0.0.1:9002" }
          - name: fraud
            match: ["/fraud"]
            mode: legacy
            legacy: { url: "http://127.0.0.1:9003" }
        """

    @Test func nestedKeysListItemsByPositionOrNameAndYAMLValues() throws {
        let config = try GatewayConfig.parse(yaml: yaml, environment: [
            "SHADOWGATE_DATABASE__BATCH_ROWS": "7000",
            "SHADOWGATE_DATABASE__CONTROL_URL": "postgresql://gate@db/gate",
            "SHADOWGATE_LOG_FORMAT": "json",
            "SHADOWGATE_ROUTES__1__LEGACY__URL": "http://legacy:8080",
            "SHADOWGATE_ROUTES__CHURN__MODE": "canary",
            "SHADOWGATE_ROUTES__CHURN__CANARY_PERCENT": "5",
            "SHADOWGATE_LIMITS__MAX_BODY_BYTES": "1024",
        ])
        #expect(config.database.batchRows == 7000)
        #expect(config.database.controlURL == "postgresql://gate@db/gate")
        #expect(config.logFormat == .json)
        #expect(config.routes[1].legacy.url == "http://legacy:8080")
        #expect(config.routes[0].mode == .canary)
        #expect(config.routes[0].canaryPercent == 5)
        #expect(config.limits.maxBodyBytes == 1024)
    }

    @Test func variablesThatAreNotKeysAreLeftAlone() throws {
        let config = try GatewayConfig.parse(yaml: yaml, environment: [
            "SHADOWGATE_DATABASE_URL": "postgresql://x@y/z", "SHADOWGATE_ADMIN_TOKEN": "t",
            "SHADOWGATE_MIGRATIONS_DIR": "/m", "SHADOWGATE_TEST_DATABASE_URL": "postgresql://a@b/c", "HOME": "/root",
        ])
        #expect(config.database.url == nil)
        #expect(config.logFormat == .text)
        #expect(config.database.batchRows == 100)
    }

    @Test func aBadValueOrUnknownKeyNamesTheVariable() {
        let bad = #expect(throws: ConfigError.self) {
            try GatewayConfig.parse(yaml: yaml, environment: ["SHADOWGATE_DATABASE__BATCH_ROWS": "many"])
        }
        #expect(bad?.description.contains("database.batch_rows") == true)
        #expect(bad?.description.contains("SHADOWGATE_DATABASE__BATCH_ROWS") == true)
        let unknown = #expect(throws: ConfigError.self) {
            try GatewayConfig.parse(yaml: yaml, environment: ["SHADOWGATE_DATABASE__BATCH_ROW": "5"])
        }
        #expect(unknown?.description.contains("SHADOWGATE_DATABASE__BATCH_ROW") == true)
        let missing = #expect(throws: ConfigError.self) {
            try GatewayConfig.parse(yaml: yaml, environment: ["SHADOWGATE_ROUTES__7__MODE": "shadow"])
        }
        #expect(missing?.description.contains("SHADOWGATE_ROUTES__7__MODE") == true)
    }

    @Test func logFormatIsTextByDefaultAndChecked() throws {
        #expect(try GatewayConfig.parse(yaml: yaml).logFormat == .text)
        #expect(throws: ConfigError.self) { try GatewayConfig.parse(yaml: yaml + "\nlog_format: xml\n") }
    }
}
