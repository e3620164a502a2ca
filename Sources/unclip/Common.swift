import ArgumentParser
import Foundation
import UnclipKit

/// Options shared by every subcommand that reads images or uses randomness.
struct CommonOptions: ParsableArguments {
    @Option(help: "Refuse images with more pixels than this (guards against decompression bombs).")
    var maxPixels: Int = ImageCodec.defaultMaxPixels

    @Flag(help: "Show a progress line on stderr even when it is not a terminal.")
    var progress = false

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
    }
}

/// Runs a subcommand body, turning engine errors into one line on stderr and
/// the netpbm-style exit status: 64 for usage errors, 1 for everything else.
func runReporting(_ command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as UnclipError {
        IO.note("unclip \(command): \(e.description)")
        throw ExitCode(e.isUsage ? 64 : 1)
    }
}

/// The literal command line, recorded in output metadata for provenance.
var commandLineText: String {
    CommandLine.arguments.map { a in
        a.contains(where: { " \"'$".contains($0) }) ? "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'" : a
    }.joined(separator: " ")
}

/// Subcommands whose engine has not landed yet say so plainly.
func notYetBuilt(_ command: String) throws -> Never {
    IO.note("unclip \(command): not built yet in this version")
    throw ExitCode(1)
}
