/// Text made safe for HTML and inline SVG, in element content and in quoted attribute values.
///
/// Route names, actors and reasons come from the database and ultimately from people, so every
/// such string goes through ``escape(_:)`` before it reaches the page: `&`, `<`, `>`, `"` and `'`
/// become character references, and control characters other than tab and newline (invalid in
/// HTML) become U+FFFD.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
