import Foundation
import ShadowGateTesting
import Testing

/// `shadowgate serve` checks every certificate file before it starts anything.
@Suite("serve: TLS files at start-up")
struct ServeTLSStartupTests {
    @Test("a missing CA file or an expired listener certificate stops serve with exit 1 and a sentence naming the key")
    func refusedNamingTheKey() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        let missing = try writeConfig("""
            listen: 127.0.0.1:1
            routes:
              - name: m
                match: ["/x"]
                legacy: { url: "https://localhost:2", tls: { ca_file: \(certs.path("absent.pem")) } }
                learner: { url: "http://127.0.0.1:3" }
            """)
        let first = try await BinaryRunner.run(["serve", "--config", missing, "--no-pair-log"])
        #expect(first.status == 1)
        #expect(first.stderr.contains("config key 'routes[0].legacy.tls.ca_file': file '\(certs.path("absent.pem"))' does not exist"), "\(first.stderr)")

        let expired = try writeConfig("""
            listen: 127.0.0.1:1
            tls: { cert_file: \(certs.expiredCertFile), key_file: \(certs.expiredKeyFile) }
            routes:
              - name: m
                match: ["/x"]
                legacy: { url: "http://127.0.0.1:2" }
                learner: { url: "http://127.0.0.1:3" }
            """)
        let second = try await BinaryRunner.run(["serve", "--config", expired, "--no-pair-log"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("config key 'tls.cert_file': the certificate in '\(certs.expiredCertFile)' expired on 2020-01-02"), "\(second.stderr)")
    }
}
