import Foundation
import ShadowGatePairRecord

/// The body of `POST /v1/feedback`: one `{"request_id": …, "label": …, "index"?: n}` or an array of them.
/// Package-visible so the fuzz target (`Fuzz/`) can drive the parser the gateway uses.
package enum FeedbackRequest {
    /// A body that cannot be used, with a sentence for the client.
    package struct Invalid: Error {
        package var message: String
    }

    /// Most labels accepted in one call.
    package static let maxItems = 10_000

    package static func parse(_ bytes: [UInt8]) throws(Invalid) -> [FeedbackItem] {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw Invalid(message: "body is not valid JSON")
        }
        let objects: [Any]
        if let array = json as? [Any] {
            objects = array
        } else {
            objects = [json]
        }
        guard !objects.isEmpty else { throw Invalid(message: "body holds no labels") }
        guard objects.count <= maxItems else { throw Invalid(message: "at most \(maxItems) labels per call, got \(objects.count)") }
        var items: [FeedbackItem] = []
        items.reserveCapacity(objects.count)
        for (position, object) in objects.enumerated() {
            let place = objects.count == 1 ? "" : "item \(position): "
            guard let fields = object as? [String: Any] else {
                throw Invalid(message: "\(place)expected an object with 'request_id' and 'label'")
            }
            guard let id = fields["request_id"] as? String, !id.isEmpty, id.utf8.count <= 128 else {
                throw Invalid(message: "\(place)'request_id' must be a non-empty string of at most 128 bytes")
            }
            guard let label = fields["label"], let (json, text) = labelTexts(label) else {
                throw Invalid(message: "\(place)'label' must be a number, a string or a boolean")
            }
            var index: Int?
            if let raw = fields["index"] {
                guard let number = raw as? NSNumber, !isBoolean(number), number.doubleValue >= 0,
                      number.doubleValue == number.doubleValue.rounded() else {
                    throw Invalid(message: "\(place)'index' must be a whole number ≥ 0")
                }
                index = number.intValue
            }
            items.append(FeedbackItem(requestID: id, labelJSON: json, labelText: text, rowIndex: index))
        }
        return items
    }

    /// The label as JSON text and as stored text, or `nil` when it is not a scalar.
    private static func labelTexts(_ label: Any) -> (String, String)? {
        if let string = label as? String {
            guard let data = try? JSONSerialization.data(withJSONObject: string, options: [.fragmentsAllowed]) else { return nil }
            return (String(decoding: data, as: UTF8.self), string)
        }
        if let number = label as? NSNumber {
            if isBoolean(number) {
                let text = number.boolValue ? "true" : "false"
                return (text, text)
            }
            let value = number.doubleValue
            guard value.isFinite else { return nil }
            let text = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            return (text, text)
        }
        return nil
    }

    /// JSON `true`/`false` come back as NSNumbers of C type `char` (CFBoolean); numbers never do.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
