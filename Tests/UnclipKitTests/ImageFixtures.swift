import Foundation
import UnclipKit

/// The repository's `Fixtures/` folder, found from this source file.
enum KitFixtures {
    static let root: URL = {
        var u = URL(fileURLWithPath: #filePath)
        while u.path != "/" {
            u = u.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { break }
        }
        return u.appendingPathComponent("Fixtures")
    }()

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: root.appendingPathComponent(name))) }

    /// One row of `Fixtures/images/manifest.tsv`, written by
    /// `Fixtures/reference/make_image_fixtures.py`.
    struct ImageCase {
        var name: String
        var file: String
        /// Decoded size, after EXIF orientation.
        var width: Int
        var height: Int
        var channels: Int
        /// Largest allowed per-sample difference from the expected pixels.
        var tolerance: Int
        var format: String
        var colorType: String
        var bitDepth: Int
        var storedChannels: Int
        var interlaced: Bool
        var orientation: Int?

        var path: String { KitFixtures.path("images/" + file) }
        func expected() throws -> [UInt8] { try KitFixtures.bytes("images/expected/\(name).raw") }
    }

    static func imageCases() throws -> [ImageCase] {
        let text = try String(contentsOf: root.appendingPathComponent("images/manifest.tsv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return ImageCase(name: f[0], file: f[1], width: Int(f[2])!, height: Int(f[3])!, channels: Int(f[4])!,
                             tolerance: Int(f[5])!, format: f[6], colorType: f[7], bitDepth: Int(f[8])!,
                             storedChannels: Int(f[9])!, interlaced: f[10] == "1",
                             orientation: f[11] == "0" ? nil : Int(f[11])!)
        }
    }
}
