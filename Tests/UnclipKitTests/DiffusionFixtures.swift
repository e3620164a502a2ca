import Foundation
import XCTest
import UnclipKit

/// The tiny Kandinsky 2.2 pipelines under `Fixtures/diffusion` and the
/// diffusers outputs saved with them (Fixtures/reference/make_diffusion_fixtures.py).
enum DiffusionFixtures {
    static let pipelines = ["tiny-a", "tiny-b"]

    static func url(_ pipeline: String, _ part: String = "") -> URL {
        KitFixtures.root.appendingPathComponent("diffusion/\(pipeline)").appendingPathComponent(part)
    }

    struct Reference {
        let st: SafeTensors
        let name: String
        func has(_ key: String) -> Bool { st.tensors[key] != nil }
        func floats(_ key: String) throws -> [Float] { try st.floats(key) }
        func shape(_ key: String) throws -> [Int] { try st.info(key).shape }
        func tensor(_ key: String) throws -> Tensor { Tensor(shape: try shape(key), values: try floats(key)) }
        /// Integer tensors (timesteps) of any stored integer type.
        func ints(_ key: String) throws -> [Int] {
            let info = try st.info(key), raw = try st.raw(key)
            switch info.dtype {
            case .I64: return (0..<info.count).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            case .I32: return (0..<info.count).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            default: return try floats(key).map { Int($0) }
            }
        }
        func bytes(_ key: String) throws -> [UInt8] { try st.bytes(key) }
        func meta(_ key: String) -> String? { st.metadata[key] }
    }

    static func reference(_ pipeline: String) throws -> Reference {
        Reference(st: try SafeTensors(mappingFile: url(pipeline, "reference.safetensors").path), name: pipeline)
    }

    /// Module parity: max |ours − ref| ≤ 1e-4 × max |ref| (the output's scale).
    @discardableResult
    static func assertClose(_ ours: [Float], _ ref: [Float], _ label: String, tolerance: Float = 1e-4,
                            file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(ours.count, ref.count, "\(label): size", file: file, line: line)
        guard ours.count == ref.count else { return .infinity }
        let scale = max(ref.map(abs).max() ?? 0, 1e-12)
        var worst: Float = 0
        for (a, b) in zip(ours, ref) { worst = max(worst, abs(a - b)) }
        if ours.contains(where: { !$0.isFinite }) { worst = .infinity }
        print(String(format: "parity %@: max |diff| %.2e, scale %.3g, relative %.2e", label, worst, scale, worst / scale))
        XCTAssertLessThanOrEqual(worst / scale, tolerance, "\(label): max |diff| \(worst) at scale \(scale)", file: file, line: line)
        return worst / scale
    }

    /// Whole-pipeline images as 8-bit pixels: max difference ≤ 2 levels and ≥ 99.9 % within 1 level.
    static func assertImage(_ ours: [Float], _ ref: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, ref.count, "\(label): size", file: file, line: line)
        let a = ours.map { Int(($0 * 255).rounded()) }, b = ref.map { Int(($0 * 255).rounded()) }
        var worst = 0, within1 = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)); if abs(x - y) <= 1 { within1 += 1 } }
        let frac = Double(within1) / Double(max(a.count, 1))
        print(String(format: "pipeline %@: max %d levels, %.3f%% within 1 level (%d values)", label, worst, frac * 100, a.count))
        XCTAssertLessThanOrEqual(worst, 2, "\(label): max difference in levels", file: file, line: line)
        XCTAssertGreaterThanOrEqual(frac, 0.999, "\(label): fraction within 1 level", file: file, line: line)
    }

    /// Replays recorded noise draws (`prefix.0`, `prefix.1`, …) in order.
    final class RecordedNoise {
        let ref: Reference, prefix: String
        var next = 0
        init(_ ref: Reference, prefix: String) { self.ref = ref; self.prefix = prefix }
        func draw(_ n: Int) -> [Float] {
            defer { next += 1 }
            guard let v = try? ref.floats("\(prefix).\(next)"), v.count == n else {
                XCTFail("no recorded noise \(prefix).\(next) of \(n) values"); return [Float](repeating: 0, count: n)
            }
            return v
        }
    }
}
