import Foundation
import XCTest
import UnclipKit

/// Real multi-process pipelines through `sh`, with files and with
/// stdin/stdout, for every pair of editing subcommands that composes.
/// (Pipes that start with `unclip encode` join these once encode lands;
/// the inputs here are written by the test with the statistic model.)
final class EditPipeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try CLI.tempDir(self)
        try EditFixtures.write(EditFixtures.red, as: "a.emb", in: dir)
        try EditFixtures.write(EditFixtures.blue, as: "b.emb", in: dir)
    }

    func sh(_ script: String) throws -> CLI.Result {
        try CLI.shell(EditFixtures.export + script, cwd: dir)
    }

    func png(_ name: String) throws -> Image { try EditFixtures.png(dir.appendingPathComponent(name)) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) }

    func testTextdiffThenDecodeEqualsTextdiffDirectly() throws {
        let r = try sh("""
            unclip textdiff a.emb --to 'a photo at night' -o direct.png
            unclip textdiff a.emb --to 'a photo at night' --embedding-only | unclip decode - -o piped.png
            unclip textdiff - --to 'a photo at night' --embedding-only < a.emb > night.emb
            unclip decode night.emb -o filed.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let direct = try png("direct.png")
        XCTAssertEqual(try png("piped.png"), direct)
        XCTAssertEqual(try png("filed.png"), direct)
        XCTAssertLessThan(EditFixtures.meanLuma(direct), EditFixtures.meanLuma(try EditFixtures.image(EditFixtures.red)) - 5)
    }

    func testTwoTextdiffsCompose() throws {
        let r = try sh("""
            unclip textdiff b.emb --to 'a bright photo' --embedding-only \
              | unclip textdiff - --to 'a warm photo' --embedding-only | tee both.emb | unclip decode > both.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let rec = try EmbeddingFile.read(dir.appendingPathComponent("both.emb").path)
        XCTAssertEqual(rec.extra["edit"], "textdiff from \"a photo\" to \"a bright photo\" θ=0.4; textdiff from \"a photo\" to \"a warm photo\" θ=0.4")
        let out = try png("both.png"), ex = try EditFixtures.image(EditFixtures.blue)
        XCTAssertGreaterThan(EditFixtures.meanLuma(out), EditFixtures.meanLuma(ex) + 5)
        XCTAssertGreaterThan(EditFixtures.meanWarmth(out), EditFixtures.meanWarmth(ex) + 3)
    }

    func testVaryRecordsDecodeToVariations() throws {
        let r = try sh("""
            unclip vary a.emb -n 2 --seed 5 --embedding-only | unclip decode - -o v-%d.png
            unclip vary a.emb -n 2 --seed 5 --embedding-only -o rec-%d.emb
            unclip decode rec-1.emb -o again.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let ex = try EditFixtures.image(EditFixtures.red)
        let v0 = try png("v-0.png"), v1 = try png("v-1.png")
        XCTAssertNotEqual(v0, ex); XCTAssertNotEqual(v1, ex); XCTAssertNotEqual(v0, v1)
        XCTAssertEqual(try png("again.png"), v1, "a record decodes the same alone or in a stream")
    }

    func testInterpolationRecordsDecodeAndEndpointsAreExact() throws {
        let r = try sh("unclip interpolate a.emb b.emb --frames 3 --embedding-only | unclip decode - -o d-%d.png")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try png("d-0.png"), try EditFixtures.image(EditFixtures.red))
        XCTAssertEqual(try png("d-2.png"), try EditFixtures.image(EditFixtures.blue))
        XCTAssertTrue(exists("d-1.png"))
    }

    func testStreamOfTwoRecordsIntoInterpolate() throws {
        let r = try sh("""
            cat a.emb b.emb | unclip interpolate - --frames 3 --seed 1 -o s-%d.png
            unclip interpolate a.emb b.emb --frames 3 --seed 1 -o f-%d.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        for i in 0..<3 { XCTAssertEqual(try png("s-\(i).png"), try png("f-\(i).png")) }
    }

    func testEditedEmbeddingsFeedVaryAndInterpolate() throws {
        let r = try sh("""
            unclip textdiff b.emb --to 'a warm photo' --embedding-only > warm.emb
            unclip interpolate a.emb warm.emb --frames 3 -o g-%d.png
            unclip textdiff a.emb --to 'a bright photo' --embedding-only | unclip vary - -n 2 -o v-%d.png
            unclip interpolate a.emb b.emb --at 0.5 --embedding-only | unclip textdiff - --to 'a bright photo' > mid.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["g-0.png", "g-2.png", "v-0.png", "v-1.png", "mid.png"] { XCTAssertTrue(exists(f), f) }
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(try png("g-2.png"), try EditFixtures.image(EditFixtures.blue)), 35,
                                    "the warm record's exemplar is b's pixels, unedited")
    }

    func testImagesOnStdoutFeedInfo() throws {
        let r = try sh("unclip vary a.emb -n 1 | unclip info -; unclip decode < b.emb | unclip info -")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdoutText.split(separator: "\n").count, 2)
        XCTAssertTrue(r.stdoutText.hasPrefix("stdin: PNG"), r.stdoutText)
        XCTAssertTrue(r.stdoutText.contains("96x64"), r.stdoutText)
    }

    func testAFailureUpstreamLeavesNoOutput() throws {
        let r = try sh("unclip textdiff missing.emb --to 'a bright photo' --embedding-only | unclip decode - -o x.png")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("unclip textdiff: missing.emb: no such file"), r.stderr)
        XCTAssertTrue(r.stderr.contains("unclip decode: stdin: empty input"), r.stderr)
        XCTAssertFalse(exists("x.png"))
    }
}
