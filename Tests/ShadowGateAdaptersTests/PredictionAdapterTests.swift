import Testing
@testable import ShadowGateAdapters

private func read(_ adapter: PredictionAdapter, _ body: String) -> ResponseReading {
    withBytes(body) { adapter.readResponse($0) }
}

private func read(_ adapter: PredictionAdapter, _ body: [UInt8]) -> ResponseReading {
    withBytes(body) { adapter.readResponse($0) }
}

private func features(_ adapter: PredictionAdapter, _ body: String, maxBytes: Int = 1 << 20) -> (features: String?, truncated: Bool) {
    withBytes(body) { adapter.readFeatures($0, maxBytes: maxBytes) }
}

private func sticky(_ body: String, _ pointer: String) -> String? {
    withBytes(body) { PredictionAdapter.stickyValue($0, pointer: pointer) }
}

@Suite("PredictionAdapter: Open Inference Protocol v2")
struct OIPv2AdapterTests {
    let adapter = PredictionAdapter(protocol: .oipV2)

    @Test func mlserverResponse() {
        let outputs = #"[{"name":"predict","shape":[1],"datatype":"INT64","parameters":{"content_type":"np"},"data":[2]}]"#
        let body = #"{"model_name":"iris","model_version":"v1.2","id":"4f1c","parameters":{"content_type":"np"},"outputs":"# + outputs + "}"
        #expect(read(adapter, body) == ResponseReading(parsed: true, output: outputs, score: 2, modelVersion: "v1.2"))
    }

    @Test func tritonResponseWithoutModelVersion() {
        let body = """
            {
              "model_name": "densenet_onnx",
              "outputs": [
                {"name": "fc6_1", "datatype": "FP32", "shape": [1, 3], "data": [0.125, 0.75, 0.125]}
              ]
            }
            """
        let reading = read(adapter, body)
        #expect(reading.parsed)
        #expect(reading.score == 0.125)
        #expect(reading.label == nil)
        #expect(reading.modelVersion == nil)
        #expect(reading.output?.hasPrefix("[\n    {\"name\": \"fc6_1\"") == true)
        #expect(reading.output.map(isStrictJSON) == true)
    }

    @Test func numericModelVersionKeepsItsText() {
        let reading = read(adapter, #"{"model_version": 3, "outputs": []}"#)
        #expect(reading == ResponseReading(parsed: true, output: "[]", modelVersion: "3"))
        #expect(read(adapter, #"{"model_version": null, "outputs": []}"#).modelVersion == nil)
        #expect(read(adapter, #"{"model_version": "2\u00e9", "outputs": []}"#).modelVersion == "2é")
    }

    @Test func bytesOutputGivesTheLabelAndTheNextOutputTheScore() {
        let body = #"""
            {"model_name":"churn","model_version":"7","outputs":[
              {"name":"label","datatype":"BYTES","shape":[1],"data":["churn"]},
              {"name":"probability","datatype":"FP32","shape":[1,2],"data":[[0.25,0.75]]}]}
            """#
        let reading = read(adapter, body)
        #expect(reading.parsed)
        #expect(reading.label == "churn")
        #expect(reading.score == 0.25)
        #expect(reading.modelVersion == "7")
    }

    @Test func scoreComesFromTheFirstOutputFirst() {
        let body = #"{"outputs":[{"name":"a","datatype":"FP64","shape":[2,2],"data":[[-1.5,2],[3,4]]},{"name":"b","datatype":"FP32","shape":[1],"data":[9]}]}"#
        #expect(read(adapter, body).score == -1.5)
    }

    @Test func namesShapesAndDatatypesAreNotPredictions() {
        // Only `data` counts: the output's name is a string and its shape holds numbers.
        let reading = read(adapter, #"{"outputs":[{"name":"out","shape":[1],"datatype":"BOOL","data":[true]}]}"#)
        #expect(reading.parsed)
        #expect(reading.score == nil)
        #expect(reading.label == nil)
        let noData = read(adapter, #"{"outputs":[{"name":"out","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#)
        #expect(noData.parsed)
        #expect(noData.score == nil)
    }

    @Test func nonFiniteScoreIsNilAndOutputIsNull() {
        let reading = read(adapter, #"{"outputs":[{"name":"o","datatype":"FP32","shape":[2],"data":[NaN, 0.5]}]}"#)
        #expect(reading.parsed)
        #expect(reading.score == nil)
        #expect(reading.output == #"[{"name":"o","datatype":"FP32","shape":[2],"data":[null, 0.5]}]"#)
    }

    @Test func errorBodyIsUnparsedWithTheServersReason() {
        let reading = read(adapter, #"{"error": "Model churn is not ready"}"#)
        #expect(!reading.parsed)
        #expect(reading.output == nil)
        #expect(reading.error == "no 'outputs' array (error: Model churn is not ready)")
        #expect(read(adapter, #"{"error": ""# + String(repeating: "x", count: 5000) + #""}"#).error!.utf8.count < 300)
    }

    @Test func wrongShapesAreUnparsed() {
        #expect(read(adapter, #"{"outputs": {"a": 1}}"#) == .unparsed("no 'outputs' array"))
        #expect(read(adapter, #"{"predictions": [1]}"#) == .unparsed("no 'outputs' array"))
        #expect(read(adapter, #"[{"outputs": []}]"#) == .unparsed("response is not a JSON object"))
        #expect(read(adapter, #""outputs""#) == .unparsed("response is not a JSON object"))
    }

    @Test func binaryExtensionBodyIsUnparsedNotCrashed() {
        let header = #"{"model_name":"m","outputs":[{"name":"o","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}"#
        let body = Array(header.utf8) + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40]
        let reading = read(adapter, body)
        #expect(!reading.parsed)
        #expect(reading.error == "not JSON at byte \(header.utf8.count): trailing data")
    }

    @Test(arguments: [
        ("", "empty body"),
        ("<html><body><h1>502 Bad Gateway</h1></body></html>", "not JSON at byte 0"),
        (#"{"outputs":[{"name":"o","data":[1,2"#, "truncated JSON at byte 35"),
        (#"{"outputs":[]} {"outputs":[]}"#, "not JSON at byte 15: trailing data"),
        (#"{"outputs":[01]}"#, "not JSON at byte 13: invalid number"),
    ])
    func invalidBodies(_ body: String, _ error: String) {
        #expect(read(adapter, body) == .unparsed(error))
    }
}

@Suite("PredictionAdapter: KServe v1 / TF Serving")
struct KServeV1AdapterTests {
    let adapter = PredictionAdapter(protocol: .kserveV1)

    @Test func listOfNumbers() {
        #expect(read(adapter, #"{"predictions": [0.25, 0.75]}"#) == ResponseReading(parsed: true, output: "[0.25, 0.75]", score: 0.25))
    }

    @Test func listOfLists() {
        let reading = read(adapter, #"{"predictions": [[0.125, 0.875], [0.5, 0.5]]}"#)
        #expect(reading.output == "[[0.125, 0.875], [0.5, 0.5]]")
        #expect(reading.score == 0.125)
    }

    @Test func listOfObjectsSkipsKeys() {
        let reading = read(adapter, #"{"predictions": [{"scores": [0.25, 0.75], "classes": ["no", "yes"]}]}"#)
        #expect(reading.score == 0.25)
        #expect(reading.label == "no")
    }

    @Test func strings() {
        #expect(read(adapter, #"{"predictions": ["cat", "dog"]}"#) == ResponseReading(parsed: true, output: #"["cat", "dog"]"#, label: "cat"))
        #expect(read(adapter, #"{"predictions": ["caf\u00e9"]}"#).label == "café")
    }

    @Test func columnarOutputs() {
        let reading = read(adapter, #"{"outputs": {"scores": [[0.5]], "classes": [["a"]]}}"#)
        #expect(reading.output == #"{"scores": [[0.5]], "classes": [["a"]]}"#)
        #expect(reading.score == 0.5)
        #expect(reading.label == "a")
        #expect(read(adapter, #"{"outputs": [1], "predictions": [2]}"#).output == "[2]")
    }

    @Test func tensorflowServingNonFiniteTokens() {
        let reading = read(adapter, #"{"predictions": [[NaN, Infinity, -Infinity, 0.5]]}"#)
        #expect(reading.parsed)
        #expect(reading.output == "[[null, null, null, 0.5]]")
        #expect(reading.score == nil)  // the first number is NaN
        #expect(reading.output.map(isStrictJSON) == true)
        #expect(read(adapter, #"{"predictions": [0.5, NaN]}"#) == ResponseReading(parsed: true, output: "[0.5, null]", score: 0.5))
        #expect(read(adapter, #"{"predictions": [-Infinity]}"#).score == nil)
        #expect(read(adapter, #"{"predictions": [1e400]}"#).score == nil)
    }

    @Test func missingPredictionsIsUnparsed() {
        #expect(read(adapter, #"{"instances": [1]}"#) == .unparsed("no 'predictions' or 'outputs'"))
        #expect(read(adapter, #"{"error": "bad input"}"#).error == "no 'predictions' or 'outputs' (error: bad input)")
        #expect(read(adapter, "[1]") == .unparsed("response is not a JSON object"))
    }
}

@Suite("PredictionAdapter: generic JSON")
struct JSONAdapterTests {
    @Test func valueAtPointer() {
        let adapter = PredictionAdapter(protocol: .json, predictionPointer: "/result/score")
        let reading = read(adapter, #"{"result": {"score": 0.93, "label": "fraud"}, "model_version": "b7"}"#)
        #expect(reading == ResponseReading(parsed: true, output: "0.93", score: 0.93, modelVersion: "b7"))
    }

    @Test func pointerWithEscapesAndIndices() {
        let adapter = PredictionAdapter(protocol: .json, predictionPointer: "/a~1b/m~0n/1")
        let reading = read(adapter, #"{"a/b": {"m~n": [1, {"class": "y", "p": 0.5}]}}"#)
        #expect(reading.output == #"{"class": "y", "p": 0.5}"#)
        #expect(reading.label == "y")
        #expect(reading.score == 0.5)
    }

    @Test func missingValueIsUnparsed() {
        let adapter = PredictionAdapter(protocol: .json, predictionPointer: "/result/missing")
        #expect(read(adapter, #"{"result": {}}"#) == .unparsed("no value at '/result/missing'"))
    }

    @Test func noPointerMeansTheWholeBody() {
        let adapter = PredictionAdapter(protocol: .json)
        #expect(read(adapter, " [\"spam\", 0.5]\n") == ResponseReading(parsed: true, output: "[\"spam\", 0.5]", score: 0.5, label: "spam"))
        #expect(read(adapter, "0.5") == ResponseReading(parsed: true, output: "0.5", score: 0.5))
    }

    @Test func nullPredictionIsParsed() {
        let adapter = PredictionAdapter(protocol: .json, predictionPointer: "/p")
        #expect(read(adapter, #"{"p": null}"#) == ResponseReading(parsed: true, output: "null"))
    }

    @Test func invalidPointerFailsLoudly() {
        let adapter = PredictionAdapter(protocol: .json, predictionPointer: "result")
        #expect(read(adapter, #"{"result": 1}"#) == .unparsed("invalid prediction pointer 'result'"))
    }
}

@Suite("PredictionAdapter: features")
struct FeaturesTests {
    @Test func oipV2Inputs() {
        let adapter = PredictionAdapter(protocol: .oipV2)
        let inputs = #"[{"name":"x","shape":[1,3],"datatype":"FP32","data":[[1.5,NaN,3]]}]"#
        let body = #"{"id":"r1","inputs":"# + inputs + #","outputs":[{"name":"y"}]}"#
        let result = features(adapter, body)
        #expect(result.features == #"[{"name":"x","shape":[1,3],"datatype":"FP32","data":[[1.5,null,3]]}]"#)
        #expect(result.truncated == false)
        #expect(features(adapter, #"{"inputs": {"x": 1}}"#) == (nil, false))
        #expect(features(adapter, #"{"id": "r1"}"#) == (nil, false))
    }

    @Test func kserveV1InstancesOrInputs() {
        let adapter = PredictionAdapter(protocol: .kserveV1)
        #expect(features(adapter, #"{"instances": [[1, 2], [3, 4]]}"#) == ("[[1, 2], [3, 4]]", false))
        #expect(features(adapter, #"{"signature_name": "s", "inputs": {"a": [1]}}"#) == (#"{"a": [1]}"#, false))
        #expect(features(adapter, #"{"instances": [1], "inputs": [2]}"#) == ("[1]", false))
        #expect(features(adapter, #"{"other": 1}"#) == (nil, false))
    }

    @Test func jsonPointerOrWholeBody() {
        #expect(features(PredictionAdapter(protocol: .json), "\n {\"f\": [1, 2]} \n") == (#"{"f": [1, 2]}"#, false))
        let pointed = PredictionAdapter(protocol: .json, featuresPointer: "/req/features")
        #expect(features(pointed, #"{"req": {"features": {"age": 42}}}"#) == (#"{"age": 42}"#, false))
        #expect(features(pointed, #"{"req": {}}"#) == (nil, false))
        #expect(features(PredictionAdapter(protocol: .json, featuresPointer: "bad"), "{}") == (nil, false))
    }

    @Test func truncationCap() {
        let adapter = PredictionAdapter(protocol: .kserveV1)
        let body = #"{"instances": [1, 2, 3]}"#
        #expect(features(adapter, body, maxBytes: 9) == ("[1, 2, 3]", false))
        #expect(features(adapter, body, maxBytes: 8) == (nil, true))
        #expect(features(adapter, body, maxBytes: 0) == (nil, true))
        // The cap applies to what would be stored, after NaN becomes null.
        #expect(features(adapter, #"{"instances": [NaN]}"#, maxBytes: 5) == (nil, true))
        #expect(features(adapter, #"{"instances": [NaN]}"#, maxBytes: 6) == ("[null]", false))
        let big = #"{"instances": ["# + Array(repeating: "0.5", count: 20_000).joined(separator: ",") + "]}"
        #expect(features(adapter, big, maxBytes: 16 << 10) == (nil, true))
    }

    @Test func invalidBodiesHaveNoFeatures() {
        let adapter = PredictionAdapter(protocol: .oipV2)
        for body in ["", "{", #"{"inputs": [1]} x"#, "<html>", String(repeating: "[", count: 10_000)] {
            #expect(features(adapter, body) == (nil, false), "\(body.prefix(20))")
        }
    }
}

@Suite("PredictionAdapter: sticky values")
struct StickyValueTests {
    let body = #"""
        {"parameters": {"user": "u-42", "esc": "a\"b\u00e9", "n": 42, "x": 1.5e3, "ok": true, "none": null,
         "obj": {"k": 1}}, "users": ["a", "b"], "a/b": "slash"}
        """#

    @Test func scalarsAsText() {
        #expect(sticky(body, "/parameters/user") == "u-42")
        #expect(sticky(body, "/parameters/esc") == "a\"bé")
        #expect(sticky(body, "/parameters/n") == "42")
        #expect(sticky(body, "/parameters/x") == "1.5e3")
        #expect(sticky(body, "/parameters/ok") == "true")
        #expect(sticky(body, "/users/1") == "b")
        #expect(sticky(body, "/a~1b") == "slash")
        #expect(sticky(body, "/parameters/obj") == #"{"k": 1}"#)
    }

    @Test func absentIsNil() {
        #expect(sticky(body, "/parameters/none") == nil)
        #expect(sticky(body, "/parameters/missing") == nil)
        #expect(sticky(body, "/users/2") == nil)
        #expect(sticky(body, "parameters/user") == nil)
        #expect(sticky(#"{"parameters": {"user": "u-42"}"#, "/parameters/user") == nil)  // truncated body
        #expect(sticky("", "/a") == nil)
    }
}
