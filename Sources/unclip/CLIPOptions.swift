import ArgumentParser
import Foundation
import UnclipKit

/// Choosing and running the CLIP model: shared by every subcommand that
/// encodes images or captions.
struct CLIPOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "CLIP model: a folder in Hugging Face layout, a Kandinsky 2.2 pipeline folder, or a name installed with `unclip model pull`.",
        discussion: "Default: $UNCLIP_MODEL, else openai/clip-vit-base-patch32 from the model store.",
        valueName: "dir|name"))
    var model: String?

    @Option(help: "CPU threads for the matrix products (default: all cores). Results are identical for a fixed count.")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Resolves and loads the model, applying --threads first.
    func load() throws -> ImageEmbedder & TextEmbedder {
        if let t = threads { BLAS.threads = t }
        return try ModelStore.load(try ModelStore.resolve(model))
    }
}
