import ArgumentParser
import Foundation
import UnclipKit

struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similarity",
        abstract: "Print the cosine similarity between two embeddings.",
        discussion: """
        Reads the first record of each file (- for stdin, for one of the two) and prints \
        their cosine, from -1 to 1, on stdout. Image and text embeddings can be compared; \
        embeddings from different models cannot.
        """
    )

    @Argument(help: ArgumentHelp("First embedding file (- for stdin).", valueName: "a"))
    var first: String

    @Argument(help: ArgumentHelp("Second embedding file (- for stdin).", valueName: "b"))
    var second: String

    func validate() throws {
        if first == "-" && second == "-" { throw ValidationError("only one of the two inputs can be stdin (-)") }
    }

    func run() throws {
        try runReporting("similarity") {
            let a = try EmbeddingFile.read(first), b = try EmbeddingFile.read(second)
            try EmbeddingFile.checkSameModel(a, b, names: (IO.displayName(first), IO.displayName(second)))
            var dot = 0.0
            for (x, y) in zip(a.embedding, b.embedding) { dot += Double(x) * Double(y) }
            print(String(format: "%.6f", min(1, max(-1, dot))))
        }
    }
}
