// libFuzzer entry point for ShadowGate's parsers and encoders (Fuzz/run.sh builds and runs it).
//
// Built with `-sanitize=fuzzer -parse-as-library -D FUZZING`, libFuzzer provides `main` and calls
// `LLVMFuzzerTestOneInput`; the target is picked by `SHADOWGATE_FUZZ_TARGET` (json, adapter, yaml,
// copy, feedback). Built plainly (as `swift build` does), it is a replayer: `shadowgate-fuzz TARGET FILE...`
// runs each file once, so a crash found by the fuzzer can be reproduced and debugged without it.

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    FuzzTarget.selected.run(bytes)
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links an executable's `main` to `<module>_main`; in the fuzzer build that is libFuzzer's driver.
@_cdecl("shadowgate_fuzz_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
/// The replayer's entry point (absent from the fuzzer build, where libFuzzer has `main`).
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count < 3 {
            print("usage: shadowgate-fuzz <json|adapter|yaml|copy|feedback|request> FILE...")
            exit(2)
        }
        guard let target = FuzzTarget(rawValue: arguments[1]) else {
            print("unknown target '\(arguments[1])'")
            exit(2)
        }
        for path in arguments.dropFirst(2) {
            guard let file = fopen(path, "rb") else { print("cannot open \(path)"); exit(1) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&chunk, 1, chunk.count, file)
                if n <= 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
            fclose(file)
            bytes.withUnsafeBytes { target.run($0) }
        }
        print("ran \(arguments.count - 2) input(s) through \(target.rawValue): no failure")
    }
}
#endif
