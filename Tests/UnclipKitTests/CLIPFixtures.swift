import Foundation

/// Paths into the repository's `Fixtures/` for the CLIP tokenizer,
/// preprocessing and model-store tests.
enum CLIPFixtures {
    static var root: URL { KitFixtures.root }

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
    static var vocab: String { path("clip-vocab/vocab.json") }
    static var merges: String { path("clip-vocab/merges.txt") }
}
