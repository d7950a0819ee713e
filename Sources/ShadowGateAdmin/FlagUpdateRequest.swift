import Foundation
import ShadowGateRouting

/// The body of `PUT /admin/routes/{name}`: `{"mode": "canary", "canary_percent": 5, "reason": "..."}`.
///
/// `reason` is required (every change is audited). A missing `mode` keeps the current one; a
/// missing `canary_percent` keeps the current share in `canary`, and is 100 in `promoted` and 0
/// in `shadow` and `legacy`.
struct FlagUpdateRequest: Equatable {
    var mode: RouteMode?
    var canaryPercent: Double?
    var reason: String

    /// A refusal: the status says whose fault (400 unreadable, 422 readable but not acceptable).
    struct Refusal: Error, Equatable {
        var unprocessable: Bool
        var message: String
    }

    static func parse(_ body: [UInt8]) throws(Refusal) -> FlagUpdateRequest {
        guard !body.isEmpty else {
            throw Refusal(unprocessable: false, message: "the body is empty; send {\"mode\": …, \"canary_percent\": …, \"reason\": …}")
        }
        let fields: RawFields
        do {
            fields = try JSONDecoder().decode(RawFields.self, from: Data(body))
        } catch let error as DecodingError {
            if case .typeMismatch = error {
                throw Refusal(unprocessable: false, message: "the body must be a JSON object")
            }
            throw Refusal(unprocessable: false, message: "the body is not valid JSON")
        } catch {
            throw Refusal(unprocessable: false, message: "the body is not valid JSON")
        }
        if let unknown = fields.unknown.sorted().first {
            throw Refusal(unprocessable: false, message: "unknown field '\(unknown)' (fields: canary_percent, mode, reason)")
        }
        var request = FlagUpdateRequest(reason: "")
        switch fields.mode {
        case nil: break
        case .some(let text):
            guard let text, let mode = RouteMode(rawValue: text) else {
                throw Refusal(unprocessable: true, message: "mode must be one of legacy, shadow, canary, promoted; got \(text.map { "'\($0)'" } ?? "something else")")
            }
            request.mode = mode
        }
        switch fields.canaryPercent {
        case nil: break
        case .some(nil):
            throw Refusal(unprocessable: true, message: "canary_percent must be a number between 0 and 100")
        case .some(let percent?):
            guard percent.isFinite, (0...100).contains(percent) else {
                throw Refusal(unprocessable: true, message: "canary_percent must be between 0 and 100; got \(percent.formattedShortPercent)")
            }
            guard ((percent * 100).rounded() - percent * 100).magnitude < 1e-9 else {
                throw Refusal(unprocessable: true, message: "canary_percent has a resolution of 0.01; got \(percent)")
            }
            request.canaryPercent = (percent * 100).rounded() / 100
        }
        guard let reason = fields.reason ?? nil, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Refusal(unprocessable: true, message: "reason is required: every flag change is audited with who, when and why")
        }
        request.reason = reason
        guard request.mode != nil || request.canaryPercent != nil else {
            throw Refusal(unprocessable: true, message: "nothing to change: give mode, canary_percent or both")
        }
        return request
    }

    /// The body's fields as sent: `.some(nil)` is a field present with the wrong type.
    private struct RawFields: Decodable {
        var mode: String??
        var canaryPercent: Double??
        var reason: String??
        var unknown: [String] = []

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                switch key.stringValue {
                case "mode": mode = .some(try? container.decode(String.self, forKey: key))
                case "canary_percent": canaryPercent = .some(try? container.decode(Double.self, forKey: key))
                case "reason": reason = .some(try? container.decode(String.self, forKey: key))
                default: unknown.append(key.stringValue)
                }
            }
        }
    }

    /// The flags this request asks for, given the current ones.
    func target(current: RouteFlags) throws(Refusal) -> (mode: RouteMode, percent: Double) {
        let mode = self.mode ?? current.mode
        if let percent = canaryPercent {
            guard let fixed = mode.fixedCanaryPercent, percent != fixed else { return (mode, percent) }
            throw Refusal(unprocessable: true, message:
                "canary_percent \(percent.formattedShortPercent) does not fit mode \(mode.rawValue) (canary takes any share; promoted is 100, shadow and legacy 0)")
        }
        return (mode, mode.fixedCanaryPercent ?? (current.mode == .canary ? current.canaryPercent : 0))
    }
}
