import ArgumentParser
import Foundation
import UnclipKit

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install and list CLIP models."
    )

    func run() throws {
        try notYetBuilt("model")
    }
}
