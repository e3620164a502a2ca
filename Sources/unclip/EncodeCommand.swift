import ArgumentParser
import Foundation
import UnclipKit

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode images (or --text captions) to CLIP embedding files."
    )

    func run() throws {
        try notYetBuilt("encode")
    }
}
