import Foundation

/// Picks one row out of captured features, for a label that names a row of a batch request.
///
/// Understands KServe v1 rows (`[[…], […]]`) and OIP v2 inputs (`[{"name", "shape": [n, …], "data": […]}]`,
/// row-major); anything else is returned whole.
enum FeatureRows {
    static func row(_ index: Int, of featuresJSON: String) -> String {
        guard let data = featuresJSON.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return featuresJSON }
        if let rows = value as? [Any], rows.allSatisfy({ $0 is [Any] }) {
            guard index < rows.count else { return featuresJSON }
            return encode(rows[index]) ?? featuresJSON
        }
        if let inputs = value as? [[String: Any]] {
            var picked: [[String: Any]] = []
            for var input in inputs {
                guard let shape = input["shape"] as? [Int], let first = shape.first, index < first,
                      let flat = input["data"] as? [Any], first > 0 else { return featuresJSON }
                let width = flat.count / first
                guard width * first == flat.count else { return featuresJSON }
                input["data"] = Array(flat[(index * width)..<((index + 1) * width)])
                input["shape"] = [1] + shape.dropFirst()
                picked.append(input)
            }
            return encode(picked) ?? featuresJSON
        }
        return featuresJSON
    }

    private static func encode(_ value: Any) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
