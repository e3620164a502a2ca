import ArgumentParser
import Foundation
import UnclipKit

@main
struct Unclip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unclip",
        abstract: "Edit photos through CLIP image embeddings: encode, vary, inpaint, interpolate, textdiff.",
        discussion: """
        Subcommands read images or embedding files from a path or `-` (stdin) and write \
        data only to stdout or -o, so they compose in pipes:

          unclip encode a.jpg | unclip vary -n 4 -o var-%d.png

        Exit status: 0 on success, 64 for usage errors, 1 for any other failure.
        """,
        version: unclipVersion,
        subcommands: [
            Encode.self, Generate.self, Vary.self, Inpaint.self, Interpolate.self, Textdiff.self,
            Decode.self, Similarity.self, Model.self, Info.self,
        ]
    )
}

let unclipVersion = "0.1.0"
