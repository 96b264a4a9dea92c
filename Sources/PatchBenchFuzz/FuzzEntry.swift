import Foundation
import FuzzTargets

// One executable for every fuzz target (Documentation/fuzzing.md).
//
// Built with -sanitize=fuzzer -DFUZZING, it hands control to libFuzzer's driver, which calls
// LLVMFuzzerTestOneInput; the target comes from PATCHBENCH_FUZZ_TARGET. In a normal build the
// same function replays files and folders: `patchbench-fuzz <target> <file|folder>...`, so a
// crash input can be reproduced without libFuzzer.

/// The target chosen by PATCHBENCH_FUZZ_TARGET, resolved on the first input.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["PATCHBENCH_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("PATCHBENCH_FUZZ_TARGET must be one of: \(names) (got '\(name)')\n".utf8))
        exit(2)
    }
    FuzzTarget.prepareForFuzzing()
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}

#if FUZZING
/// libFuzzer's driver (in the toolchain's libclang_rt.fuzzer), run with the command line.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links executables with `main` aliased to `<module>_main` (so that tests can link the
/// module), which would leave libFuzzer's own `main` unused: this is that entry point.
@_cdecl("PatchBenchFuzz_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " | ")
            print("usage: patchbench-fuzz <\(names)> <file|folder>...  (replays inputs through the target)")
            exit(2)
        }
        FuzzTarget.prepareForFuzzing()
        var count = 0
        for path in arguments.dropFirst() {
            for file in inputFiles(path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    print("\(file): cannot read")
                    exit(1)
                }
                target.run([UInt8](data))
                count += 1
            }
        }
        print("replayed \(count) inputs through \(target.rawValue) without a crash")
    }

    /// A file, or every file in a folder (sorted, not recursive).
    static func inputFiles(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.map { (path as NSString).appendingPathComponent($0) }
    }
}
#endif
