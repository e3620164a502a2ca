import ArgumentParser
import Foundation
import UnclipKit

struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Print the cosine similarity between two embeddings."
    )

    func run() throws {
        try notYetBuilt("similarity")
    }
}
