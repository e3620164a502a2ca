import ArgumentParser
import Foundation
import UnclipKit

struct Vary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vary",
        abstract: "Decode N new images that keep what CLIP sees in an embedding."
    )

    func run() throws {
        try notYetBuilt("vary")
    }
}
