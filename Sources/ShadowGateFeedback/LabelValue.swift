/// The numeric value of a label as `shadowgate.parse_float()` reads it, computed before the
/// label is sent so the row trigger `labels_fill_value` does not run on bulk writes.
///
/// Promises: a number exactly when `parse_float` gives one — the text, trimmed of spaces, is
/// `[+-]?(digits[.digits*] | .digits)([eE][+-]?digits)?` — else `nil`. A text PostgreSQL could
/// read as a number that is out of double range also gives `nil`; the trigger then parses it in
/// SQL, so the stored value is whatever PostgreSQL makes of it.
enum LabelValue {
    static func parse(_ text: String) -> Double? {
        var utf8 = Substring(text).utf8
        while utf8.first == 32 { utf8 = utf8.dropFirst() }
        while utf8.last == 32 { utf8 = utf8.dropLast() }
        guard isPlainNumber(utf8) else { return nil }
        guard let value = Double(Substring(utf8)), value.isFinite else { return nil }
        return value
    }

    private static func isPlainNumber(_ s: Substring.UTF8View) -> Bool {
        var i = s.startIndex
        func digits() -> Int {
            var n = 0
            while i < s.endIndex, (48...57).contains(s[i]) { i = s.index(after: i); n += 1 }
            return n
        }
        if i < s.endIndex, s[i] == 43 || s[i] == 45 { i = s.index(after: i) }
        let whole = digits()
        var fraction = 0
        if i < s.endIndex, s[i] == 46 {
            i = s.index(after: i)
            fraction = digits()
        }
        guard whole > 0 || fraction > 0 else { return false }
        if i < s.endIndex, s[i] == 69 || s[i] == 101 {
            i = s.index(after: i)
            if i < s.endIndex, s[i] == 43 || s[i] == 45 { i = s.index(after: i) }
            guard digits() > 0 else { return false }
        }
        return i == s.endIndex
    }
}
