import NIOSSL

/// A TLS failure on a connection, told as a short reason for a 502 body, a log line or a pair
/// record (`TLS handshake failed: certificate verify failed`), never a BoringSSL error dump.
public enum TLSFailure {
    /// The reason when `error` comes from TLS, nil otherwise.
    public static func reason(_ error: any Error) -> String? {
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            return describe(error)
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        if let extra = error as? NIOSSLExtraError {
            if extra == .failedToValidateHostname { return "TLS verification failed: the certificate does not name this host" }
            return "TLS failed: \(extra)"
        }
        guard let error = error as? NIOSSLError else { return "TLS failed: \(error)" }
        switch error {
        case .handshakeFailed(let boring):
            return "TLS handshake failed: \(reasons(boring))"
        case .uncleanShutdown:
            return "TLS connection closed uncleanly by the peer"
        case .failedToLoadCertificate: return "TLS failed: certificate could not be loaded"
        case .failedToLoadPrivateKey: return "TLS failed: private key could not be loaded"
        default:
            return "TLS failed: \(error)"
        }
    }

    /// BoringSSL's reason codes (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`), made readable.
    static func reasons(_ error: BoringSSLError) -> String {
        let text = "\(error)"
        // Each entry looks like `error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED`.
        var found: [String] = []
        var rest = Substring(text)
        while let range = rest.range(of: "OPENSSL_internal:") {
            let tail = rest[range.upperBound...]
            let code = tail.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !code.isEmpty {
                let readable = code.lowercased().replacingOccurrences(of: "_", with: " ")
                if !found.contains(readable) { found.append(readable) }
            }
            rest = tail
        }
        if found.isEmpty { return text }
        return found.joined(separator: "; ").replacingOccurrences(of: "certificate verify failed", with: "certificate verification failed")
    }
}
