import Foundation
import XCTest
import UnclipFuzzChecks
import UnclipKit

/// The fuzz targets' checks (fuzz/README.md) in the normal suite: every
/// input a fuzzing run ever found (Fixtures/fuzz/TARGET/) must stay
/// harmless, and every committed seed must pass its target's checks. A
/// regression crashes the test process, which fails the suite.
final class FuzzRegressionTests: XCTestCase {
    let repository = KitFixtures.root.deletingLastPathComponent()

    override func setUp() {
        setenv("UNCLIP_FUZZ_ROOT", repository.path, 1)
    }

    func inputs(_ folder: URL) throws -> [(target: String, file: URL)] {
        var out: [(String, URL)] = []
        for target in FuzzChecks.targets {
            let dir = folder.appendingPathComponent(target)
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for f in files.sorted() { out.append((target, dir.appendingPathComponent(f))) }
        }
        return out
    }

    func testEveryFindingStaysFixed() throws {
        let found = try inputs(KitFixtures.root.appendingPathComponent("fuzz"))
        for (target, file) in found { FuzzChecks.run(target, try IO.read(file.path)) }
        print("fuzz regressions: \(found.count) inputs")
    }

    func testSeedCorporaPassTheirChecks() throws {
        let seeds = try inputs(repository.appendingPathComponent("fuzz/corpus"))
        for t in FuzzChecks.targets { XCTAssertTrue(seeds.contains { $0.target == t }, "no seeds for \(t)") }
        for (target, file) in seeds { FuzzChecks.run(target, try IO.read(file.path)) }
    }

    /// Sizes a header declares are checked against the input before
    /// anything is reserved, and the error says so.
    func testDeclaredSizesAreCheckedAgainstTheInput() throws {
        // Two PNGs of ~700 bytes whose iTXt or zTXt chunk declares 2 GB (libpng reserves it before reading).
        for f in ["oom-itxt-length-2gb.png", "oom-ztxt-length-2gb.png"] {
            let bytes = try IO.read(KitFixtures.root.appendingPathComponent("fuzz/png/\(f)").path)
            XCTAssertThrowsError(try ImageCodec.decode(bytes, name: f)) { e in
                XCTAssertTrue("\(e)".contains("declares") && "\(e)".contains("bytes"), "\(e)")
            }
        }
        // A safetensors header whose shape's byte count overflows Int.
        func container(_ header: String) -> [UInt8] {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            return (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h
        }
        let huge = container(#"{"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}}"#)
        XCTAssertThrowsError(try SafeTensors(bytes: huge, name: "h")) { e in XCTAssertTrue("\(e)".contains("more than there are"), "\(e)") }
        let far = container(#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}"#)
        XCTAssertThrowsError(try SafeTensors(bytes: far, name: "f")) { e in XCTAssertTrue("\(e)".contains("past the end"), "\(e)") }
        // A header nested a million deep is refused by the JSON reader's own depth limit, not by the stack.
        let deep = container(String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000))
        XCTAssertThrowsError(try SafeTensors(bytes: deep, name: "d")) { e in XCTAssertTrue("\(e)".contains("not a JSON object"), "\(e)") }
    }

    /// A prior config whose head width times head count overflows is refused by name.
    func testPriorWidthsAreBoundedBeforeTheirProduct() throws {
        let bytes = try IO.read(KitFixtures.root.appendingPathComponent("fuzz/config/crash-prior-head-width-overflow.json").path)
        let c = try DiffusersConfig.parse(Data(bytes), name: "config.json")
        XCTAssertThrowsError(try PriorTransformer.Config.parse(c)) { e in XCTAssertTrue("\(e)".contains("attention_head_dim"), "\(e)") }
    }

    /// A version-1 record's stray "norm" metadata is not carried along as
    /// provenance, which would write it back as a version-2 length that
    /// does not read.
    func testVersion1NormIsNotRewrittenAsALength() throws {
        let v1 = try IO.read(KitFixtures.root.appendingPathComponent("embeddings/swift-written-v1.emb").path)
        let n = v1.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(v1[8..<(8 + n)])) as? [String: Any])
        var meta = try XCTUnwrap(header["__metadata__"] as? [String: String])
        XCTAssertEqual(meta["format_version"], "1")
        meta["norm"] = "not a number"
        header["__metadata__"] = meta
        var h = [UInt8](try JSONSerialization.data(withJSONObject: header))
        while h.count % 8 != 0 { h.append(0x20) }
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h + v1[(8 + n)...]
        let r = try EmbeddingFile.parse(bytes, name: "v1")
        XCTAssertNil(r.extra["norm"])
        XCTAssertNil(r.norm)
        XCTAssertEqual(try EmbeddingFile.parse(r.serialize(), name: "again").serialize(), r.serialize())
    }
}
