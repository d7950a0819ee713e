import Foundation
import NIOSSL

/// A throwaway PKI made with the `openssl` CLI in a temporary directory, for TLS tests.
///
/// Holds a CA ("ShadowGate Test CA"), a server certificate for `localhost` and `127.0.0.1` signed
/// by it, a client certificate signed by it (for mTLS), an unrelated CA (for "wrong CA" cases) with
/// a server certificate of its own, and a server certificate that expired in 2020. Every key is EC P-256, every file PEM.
public struct TestCertificates: Sendable {
    public let directory: String

    public var caFile: String { path("ca.pem") }
    public var otherCAFile: String { path("other-ca.pem") }
    public var serverCertFile: String { path("server.pem") }
    public var serverKeyFile: String { path("server.key") }
    public var clientCertFile: String { path("client.pem") }
    public var clientKeyFile: String { path("client.key") }
    public var expiredCertFile: String { path("expired.pem") }
    public var expiredKeyFile: String { path("expired.key") }
    /// A second server certificate for `localhost`, signed by the other CA (certificate reload tests).
    public var otherServerCertFile: String { path("other-server.pem") }
    public var otherServerKeyFile: String { path("other-server.key") }

    public func path(_ name: String) -> String { directory + "/" + name }

    /// Generates the files; throws when `openssl` fails (its standard error in the message).
    ///
    /// `openssl` runs, and is waited for, on a thread of its own, keeping the cooperative pool free
    /// for the other tests running in parallel.
    public static func make() async throws -> TestCertificates {
        try await onThread { try makeBlocking() }
    }

    private static func makeBlocking() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("shadowgate-certs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script, "make-certs", directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Read before waiting: a full pipe would otherwise stall openssl and the wait with it.
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestCertificatesError(message: "openssl failed: \(text)")
        }
        return TestCertificates(directory: directory)
    }

    /// A TLS server context presenting the server certificate; with `requireClientCertificate`,
    /// clients must present one signed by the test CA.
    public func serverContext(requireClientCertificate: Bool = false, alpn: [String] = ["http/1.1"]) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(serverCertFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: serverKeyFile, format: .pem))
        var configuration: TLSConfiguration
        if requireClientCertificate {
            configuration = .makeServerConfigurationWithMTLS(certificateChain: chain, privateKey: key, trustRoots: .file(caFile))
            configuration.certificateVerification = .noHostnameVerification
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        configuration.applicationProtocols = alpn
        return try NIOSSLContext(configuration: configuration)
    }

    /// A TLS client context that trusts the test CA and offers `alpn`.
    public func clientContext(alpn: [String]) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(caFile)
        configuration.applicationProtocols = alpn
        return try NIOSSLContext(configuration: configuration)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let script = #"""
        set -euo pipefail
        cd "$1"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
        ca() {
          key "$1.key"
          openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3 -subj "/CN=$2" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        }
        leaf() { # file, common name, signing CA, extensions
          key "$1.key"
          openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2"
          printf '%s\n' "$4" > "$1.ext"
          openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
        }
        ca ca "ShadowGate Test CA"
        ca other-ca "Some Other CA"
        leaf server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1
        extendedKeyUsage=serverAuth"
        leaf client shadowgate-client ca "extendedKeyUsage=clientAuth"
        leaf other-server localhost other-ca "subjectAltName=DNS:localhost,IP:127.0.0.1
        extendedKeyUsage=serverAuth"
        # openssl x509 cannot back-date; openssl ca takes explicit dates.
        key expired.key
        openssl req -new -key expired.key -out expired.csr -subj /CN=localhost
        : > index.txt
        echo 01 > serial
        printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n' > ca.cnf
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
          -startdate 20200101000000Z -enddate 20200102000000Z -notext 2>/dev/null
        """#
}

public struct TestCertificatesError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
