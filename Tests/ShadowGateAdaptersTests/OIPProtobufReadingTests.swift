import Foundation
@testable import ShadowGateAdapters
import Testing

/// The hand-written protobuf decoding of OIP gRPC messages against messages serialised by the
/// protobuf runtime (fixtures from Scripts/grpc/make_protobuf_fixtures.py).
@Suite("OIP gRPC messages")
struct OIPProtobufReadingTests {
    static func json(_ text: String) throws -> NSArray {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? NSArray)
    }

    @Test("ModelInferResponse: outputs as REST writes them, score, label and model version", arguments: oipResponseFixtures)
    func response(_ fixture: OIPResponseFixture) throws {
        let reading = fixture.message.withUnsafeBytes { OIPProtobufReading.readResponse($0) }
        #expect(reading.parsed, "\(reading.error ?? "")")
        let output = try #require(reading.output)
        #expect(try Self.json(output) == Self.json(fixture.outputs), "\(output)")
        #expect(reading.score == fixture.score)
        #expect(reading.label == fixture.label)
        #expect(reading.modelVersion == fixture.modelVersion)
    }

    @Test("ModelInferRequest: inputs as features", arguments: oipRequestFixtures)
    func request(_ fixture: OIPRequestFixture) throws {
        let (features, truncated) = fixture.message.withUnsafeBytes { OIPProtobufReading.readFeatures($0, maxBytes: 1 << 20) }
        #expect(!truncated)
        #expect(try Self.json(try #require(features)) == Self.json(fixture.inputs))
        let (none, cut) = fixture.message.withUnsafeBytes { OIPProtobufReading.readFeatures($0, maxBytes: 5) }
        #expect(none == nil && cut)
    }

    @Test("every truncation of a valid message is unparsed or a shorter valid reading, never a trap")
    func truncations() {
        for fixture in oipResponseFixtures {
            for length in 0..<fixture.message.count {
                let reading = Array(fixture.message.prefix(length)).withUnsafeBytes { OIPProtobufReading.readResponse($0) }
                if !reading.parsed { #expect(reading.error != nil) }
            }
        }
    }

    @Test("not protobuf, wrong raw sizes and unknown datatypes are unparsed with a reason")
    func unparsed() {
        let garbage: [UInt8] = Array("{\"outputs\":[]}".utf8)
        #expect(garbage.withUnsafeBytes { OIPProtobufReading.readResponse($0) }.parsed == false)
        #expect([UInt8]().withUnsafeBytes { OIPProtobufReading.readResponse($0) }.error == "no outputs in ModelInferResponse")
        // outputs { name "p" datatype "FP32" } raw_output_contents: 3 bytes (not a multiple of 4).
        let badRaw: [UInt8] = [0x2a, 0x09, 0x0a, 0x01, 0x70, 0x12, 0x04] + Array("FP32".utf8) + [0x32, 0x03, 1, 2, 3]
        let reading = badRaw.withUnsafeBytes { OIPProtobufReading.readResponse($0) }
        #expect(reading.parsed == false)
        #expect(reading.error == "raw contents of 'p' do not fit datatype 'FP32'")
    }

    @Test("FP16 decoding matches IEEE half precision, subnormals and infinities included")
    func half() {
        #expect(OIPProtobufReading.halfToFloat(0x3c00) == 1)
        #expect(OIPProtobufReading.halfToFloat(0xc000) == -2)
        #expect(OIPProtobufReading.halfToFloat(0x7bff) == 65504)
        #expect(OIPProtobufReading.halfToFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(OIPProtobufReading.halfToFloat(0x7c00) == .infinity)
        #expect(OIPProtobufReading.halfToFloat(0x7e00).isNaN)
    }
}
