import ArgumentParser
import Foundation
import UnclipKit

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Identify an image or an embedding file, like pnmfile or identify.",
        discussion: "Prints one line per input to stdout; FILE `-` reads stdin."
    )

    @Argument(help: "Images or embedding files to describe (- for stdin).")
    var files: [String] = ["-"]

    @OptionGroup var common: CommonOptions

    func run() throws {
        try runReporting("info") {
            for f in files {
                print(try FileDescription.describe(path: f, maxPixels: common.maxPixels))
            }
        }
    }
}
