import Foundation
import NIOSSL
import ShadowGateConfig

/// Reads PEM certificates and keys named in the configuration.
///
/// Every failure is a ``ConfigError`` whose key is the config key that named the file
/// (`routes[0].legacy.tls.ca_file`), so a missing, unreadable or expired file is refused at
/// start-up with a sentence a user can act on.
enum TLSFiles {
    /// The certificates in `path`; refused when the file is missing, holds none, or the first
    /// (leaf) certificate has expired or is not yet valid.
    static func certificateChain(_ path: String, key: String, now: Date = Date()) throws(ConfigError) -> [NIOSSLCertificate] {
        let chain = try certificates(path, key: key)
        let leaf = chain[0]
        let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
        if notAfter < now {
            throw ConfigError(key: key, problem: "the certificate in '\(path)' expired on \(Self.format(notAfter))")
        }
        if notBefore > now {
            throw ConfigError(key: key, problem: "the certificate in '\(path)' is not valid before \(Self.format(notBefore))")
        }
        return chain
    }

    /// CA certificates to trust; refused when missing, empty, or when every one of them has expired.
    static func trustedCertificates(_ path: String, key: String, now: Date = Date()) throws(ConfigError) -> [NIOSSLCertificate] {
        let all = try certificates(path, key: key)
        let nowSeconds = now.timeIntervalSince1970
        guard all.contains(where: { TimeInterval($0.notValidAfter) >= nowSeconds }) else {
            throw ConfigError(key: key, problem: "every CA certificate in '\(path)' has expired")
        }
        return all
    }

    static func privateKey(_ path: String, key: String) throws(ConfigError) -> NIOSSLPrivateKey {
        try requireFile(path, key: key)
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw ConfigError(key: key, problem: "'\(path)' holds no PEM private key that can be read (encrypted keys are not supported)")
        }
    }

    private static func certificates(_ path: String, key: String) throws(ConfigError) -> [NIOSSLCertificate] {
        try requireFile(path, key: key)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigError(key: key, problem: "'\(path)' holds no PEM certificate that can be read")
        }
        guard !chain.isEmpty else { throw ConfigError(key: key, problem: "'\(path)' holds no PEM certificate") }
        return chain
    }

    private static func requireFile(_ path: String, key: String) throws(ConfigError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ConfigError(key: key, problem: "file '\(path)' does not exist")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigError(key: key, problem: "file '\(path)' cannot be read (permissions)")
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
