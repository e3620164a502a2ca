import Foundation
import XCTest
import UnclipKit

/// Paths of committed fixtures, found by walking up from this file to Package.swift.
enum CLIPModelFixtures {
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("Fixtures")
    }()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static let clipModels = ["tiny-gelu", "tiny-quickgelu-f16"]

    /// The transformers outputs saved by Fixtures/reference/make_clip_fixtures.py.
    struct Reference {
        let st: SafeTensors
        func floats(_ name: String) throws -> [Float] { try st.floats(name) }
        func shape(_ name: String) throws -> [Int] { try st.info(name).shape }
        func rows(_ name: String) throws -> [[Float]] {
            let v = try floats(name), s = try shape(name)
            let n = s[0], d = v.count / n
            return (0..<n).map { Array(v[($0 * d)..<(($0 + 1) * d)]) }
        }
        /// I32 [N, L] token ids, each row cut to its unpadded length from the metadata.
        func ids(_ name: String, lengthsKey: String?) throws -> [[Int]] {
            let raw = try st.raw(name), s = try shape(name)
            let all = (0..<(s[0] * s[1])).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            let rows = (0..<s[0]).map { Array(all[($0 * s[1])..<(($0 + 1) * s[1])]) }
            guard let key = lengthsKey, let js = st.metadata[key],
                  let lens = try JSONSerialization.jsonObject(with: Data(js.utf8)) as? [Int] else { return rows }
            return zip(rows, lens).map { Array($0.prefix($1)) }
        }
        func list(_ key: String) throws -> [String] {
            try JSONSerialization.jsonObject(with: Data((st.metadata[key] ?? "[]").utf8)) as? [String] ?? []
        }
    }

    static func reference(_ model: String) throws -> Reference {
        Reference(st: try SafeTensors(mappingFile: url("clip/\(model)/reference.safetensors").path))
    }
}
