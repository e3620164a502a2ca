import Foundation
import XCTest
import UnclipKit

/// The editing subcommands behind `unclip encode`, with a real (tiny,
/// random-weight) CLIP checkpoint from Fixtures/clip: the pipes users run,
/// model loading, scoring and the model checks. Random weights steer toward
/// nothing in particular, so these check plumbing, not taste.
final class EditCLIPPipeTests: XCTestCase {
    var dir: URL!
    let model = Fixtures.path("clip/tiny-gelu")
    let other = Fixtures.path("clip/tiny-quickgelu-f16")

    override func setUpWithError() throws { dir = try CLI.tempDir(self) }

    /// No test model, no installed model: only what --model names.
    func sh(_ script: String) throws -> CLI.Result {
        try CLI.shell("unset UNCLIP_TEST_EMBEDDER UNCLIP_MODEL; export XDG_CACHE_HOME=\"$PWD\"; "
                      + "M='\(model)'; RED='\(EditFixtures.red)'; BLUE='\(EditFixtures.blue)'; " + script, cwd: dir)
    }

    func png(_ name: String) throws -> Image { try EditFixtures.png(dir.appendingPathComponent(name)) }

    func testEncodeThenVary() throws {
        let r = try sh("unclip encode \"$RED\" --model \"$M\" | unclip vary - -n 2 --model \"$M\" --seed 4 -o v-%d.png")
        XCTAssertEqual(r.status, 0, r.stderr)
        let bytes = try IO.read(dir.appendingPathComponent("v-1.png").path)
        XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:model"), "tiny-gelu")
        XCTAssertNotNil(EditFixtures.pngText(bytes, "unclip:clip-score").flatMap(Float.init))
        XCTAssertNotEqual(try png("v-0.png"), try png("v-1.png"))
    }

    func testEncodeTwoThenInterpolate() throws {
        let r = try sh("unclip encode \"$RED\" \"$BLUE\" --model \"$M\" | unclip interpolate - --frames 3 --model \"$M\" -o f-%d.png")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(try png("f-0.png"), try EditFixtures.image(EditFixtures.red)), 35)
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(try png("f-2.png"), try EditFixtures.image(EditFixtures.blue)), 35)
    }

    func testEncodeTextdiffDecodeEqualsTextdiff() throws {
        let r = try sh("""
            unclip encode "$RED" --model "$M" -o red.emb
            unclip textdiff red.emb --to 'a photo at night' --model "$M" --evaluations 60 -o direct.png
            unclip encode "$RED" --model "$M" | unclip textdiff - --to 'a photo at night' --model "$M" --embedding-only \
              | unclip decode - --model "$M" --evaluations 60 -o piped.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try png("piped.png"), try png("direct.png"))
    }

    func testAnotherModelIsRefused() throws {
        let r = try sh("unclip encode \"$RED\" --model \"$M\" | unclip vary - -n 1 --model '\(other)' -o v.png")
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("stdin was made with model tiny-gelu"), r.stderr)
        XCTAssertTrue(r.stderr.contains("but the model loaded is tiny-quickgelu-f16"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("v.png").path))
    }

    func testDecodeWithoutAnyModelGivesTheExemplarAndSaysSo() throws {
        let r = try sh("unclip encode \"$RED\" --model \"$M\" | unclip decode - > out.png")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "unclip decode: no diffusion decoder installed: using the patch decoder (`unclip model pull kandinsky-2.2` installs it)\n"
                       + "unclip decode: no CLIP model available: decoding the exemplar without steering\n")
        XCTAssertEqual(try png("out.png"), try EditFixtures.image(EditFixtures.red))
    }
}
