import ArgumentParser
import Foundation
import UnclipKit

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Decode a sequence of images between two embeddings (slerp)."
    )

    func run() throws {
        try notYetBuilt("interpolate")
    }
}
