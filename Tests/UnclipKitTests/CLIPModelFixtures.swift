import Foundation
import XCTest
import UnclipKit

/// The CLIP checkpoints and transformers references under `Fixtures/clip`.
enum CLIPModelFixtures {
    static var root: URL { KitFixtures.root }

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static let clipModels = ["tiny-gelu", "tiny-quickgelu-f16"]

    /// Cosine ≥ 0.99999 and max |Δ| ≤ 1e-4 per embedding, and unit length.
    static func assertParity(_ ours: [[Float]], _ ref: [[Float]], _ label: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, ref.count, label, file: file, line: line)
        var worstCos = 1.0, worstDiff: Float = 0
        defer { print(String(format: "parity %@: 1 - min cosine %.1e, max abs diff %.2e", label, 1 - worstCos, worstDiff)) }
        for (i, (a, b)) in zip(ours, ref).enumerated() {
            XCTAssertEqual(a.count, b.count, "\(label)[\(i)] dimension", file: file, line: line)
            var dot = 0.0, na = 0.0, nb = 0.0, maxDiff: Float = 0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y)
                maxDiff = max(maxDiff, abs(x - y))
            }
            let cos = dot / (na.squareRoot() * nb.squareRoot())
            worstCos = min(worstCos, cos); worstDiff = max(worstDiff, maxDiff)
            XCTAssertEqual(na, 1, accuracy: 1e-5, "\(label)[\(i)] is not unit length", file: file, line: line)
            XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(label)[\(i)] cosine", file: file, line: line)
            XCTAssertLessThanOrEqual(maxDiff, 1e-4, "\(label)[\(i)] max abs diff", file: file, line: line)
        }
    }

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
