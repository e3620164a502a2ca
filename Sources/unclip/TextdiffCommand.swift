import ArgumentParser
import Foundation
import UnclipKit

struct Textdiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "textdiff",
        abstract: "Edit an image embedding along a caption difference and decode it."
    )

    func run() throws {
        try notYetBuilt("textdiff")
    }
}
