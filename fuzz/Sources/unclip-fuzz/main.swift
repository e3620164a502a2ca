import CFuzzerDriver
import Foundation
import UnclipFuzzChecks

// The libFuzzer binary for every target, chosen by $UNCLIP_FUZZ_TARGET
// (fuzz/run sets it); the checks live in UnclipFuzzChecks, which the normal
// test suite also runs on every finding. SwiftPM names an executable's entry
// point itself, so libFuzzer's own main cannot be used: this one hands the
// arguments to libFuzzer's driver.
let target = ProcessInfo.processInfo.environment["UNCLIP_FUZZ_TARGET"] ?? ""
guard FuzzChecks.targets.contains(target) else {
    FileHandle.standardError.write(Data("set UNCLIP_FUZZ_TARGET to one of \(FuzzChecks.targets.joined(separator: ", "))\n".utf8))
    exit(64)
}

/// One input (libFuzzer's links also refer to the conventional name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
