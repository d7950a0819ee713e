/// JSON literals for the small documents ShadowGate writes by hand (reports, audit rows, admin answers).
public enum JSONLiteral {
    /// `text` as a JSON string literal, escaping what JSON requires.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A number, or `null` for `nil` and non-finite values (JSON has no NaN).
    public static func number(_ value: Double?, integer: Bool = false) -> String {
        guard let value, value.isFinite else { return "null" }
        return integer ? String(Int64(value)) : "\(value)"
    }

    /// A string literal, or `null`.
    public static func optionalString(_ text: String?) -> String {
        text.map(string) ?? "null"
    }
}
