import Foundation

/// Paths into the repository's `Fixtures/` for the CLIP tokenizer,
/// preprocessing and model-store tests (found by walking up from this file to
/// Package.swift, so the tests run from any working directory).
enum CLIPFixtures {
    static let root: URL = {
        var u = URL(fileURLWithPath: #filePath)
        while u.path != "/" {
            u = u.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { break }
        }
        return u.appendingPathComponent("Fixtures")
    }()

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
    static var vocab: String { path("clip-vocab/vocab.json") }
    static var merges: String { path("clip-vocab/merges.txt") }
}
