import ArgumentParser
import Foundation
import UnclipKit

struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inpaint",
        abstract: "Regenerate the masked region of an image, seamlessly."
    )

    func run() throws {
        try notYetBuilt("inpaint")
    }
}
