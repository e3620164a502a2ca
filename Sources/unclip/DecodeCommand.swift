import ArgumentParser
import Foundation
import UnclipKit

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode an embedding file back to an image."
    )

    func run() throws {
        try notYetBuilt("decode")
    }
}
