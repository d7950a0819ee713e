/// PostgreSQL array literals for parameters (`{"a","b"}`, `{1,2}`), so a batch is one parameter.
enum PGArrayLiteral {
    static func text(_ values: [String]) -> String {
        var out = "{"
        for (i, value) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for ch in value.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }

    static func numbers<N: BinaryInteger>(_ values: [N]) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
    }
}
