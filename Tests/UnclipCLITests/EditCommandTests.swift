import Foundation
import XCTest
import UnclipKit

/// vary, interpolate, textdiff and decode as a user runs them, with the
/// statistic test model standing in for CLIP.
final class EditCommandTests: XCTestCase {
    var dir: URL!
    var a: String!, b: String!

    override func setUpWithError() throws {
        dir = try CLI.tempDir(self)
        a = try EditFixtures.write(EditFixtures.red, as: "a.emb", in: dir)
        b = try EditFixtures.write(EditFixtures.blue, as: "b.emb", in: dir)
    }

    func run(_ args: [String], stdin: Data? = nil) throws -> CLI.Result {
        try CLI.run(args, stdin: stdin, cwd: dir, env: EditFixtures.env)
    }

    func file(_ name: String) -> URL { dir.appendingPathComponent(name) }

    // MARK: vary

    func testVaryWritesNVariationsWithProvenance() throws {
        let r = try run(["vary", "a.emb", "-n", "3", "--seed", "11", "-o", "var-%d.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
        let ex = try EditFixtures.image(EditFixtures.red)
        var outs: [Image] = []
        for i in 0..<3 {
            let bytes = try IO.read(file("var-\(i).png").path)
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:seed"), "11")
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:model"), "statistic")
            XCTAssertTrue(EditFixtures.pngText(bytes, "unclip:command")?.contains("vary a.emb -n 3") ?? false)
            XCTAssertNotNil(EditFixtures.pngText(bytes, "unclip:clip-score"))
            let im = try EditFixtures.png(file("var-\(i).png"))
            XCTAssertEqual(im.width, ex.width); XCTAssertEqual(im.height, ex.height)
            outs.append(im)
        }
        XCTAssertNotEqual(outs[0], outs[1]); XCTAssertNotEqual(outs[1], outs[2]); XCTAssertNotEqual(outs[0], outs[2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("var-3.png").path))
    }

    func testVaryIsDeterministicPerSeed() throws {
        XCTAssertEqual(try run(["vary", "a.emb", "-n", "2", "--seed", "3", "-o", "x-%d.png"]).status, 0)
        XCTAssertEqual(try run(["vary", "a.emb", "-n", "2", "--seed", "3", "--threads", "1", "-o", "y-%d.png"]).status, 0)
        XCTAssertEqual(try run(["vary", "a.emb", "-n", "2", "--seed", "4", "-o", "z-%d.png"]).status, 0)
        for i in 0..<2 {
            let x = try Data(contentsOf: file("x-\(i).png")), y = try Data(contentsOf: file("y-\(i).png")), z = try Data(contentsOf: file("z-\(i).png"))
            XCTAssertEqual(try EditFixtures.png(x), try EditFixtures.png(y), "thread count must not change pixels")
            XCTAssertNotEqual(try EditFixtures.png(x), try EditFixtures.png(z))
        }
        // The same command again: byte-identical files, metadata included.
        let first = try Data(contentsOf: file("x-1.png"))
        XCTAssertEqual(try run(["vary", "a.emb", "-n", "2", "--seed", "3", "-o", "x-%d.png"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: file("x-1.png")), first)
    }

    func testVaryStrengthZeroReconstructs() throws {
        let r = try run(["vary", "-", "-n", "1", "--strength", "0"], stdin: try Data(contentsOf: URL(fileURLWithPath: a)))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(try EditFixtures.png(r.stdout), try EditFixtures.image(EditFixtures.red)), 35)
    }

    func testVaryRefusesSeveralImagesOnStdout() throws {
        let r = try run(["vary", "a.emb", "-n", "2"])
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "unclip vary: 2 variations need -o with %d in the name (e.g. -o out-%d.png)\n")
        XCTAssertTrue(r.stdout.isEmpty)
    }

    func testTextEmbeddingNeedsExemplarAndAcceptsOne() throws {
        var text = try EditFixtures.embedding(EditFixtures.red)
        text.kind = .text; text.exemplar = nil; text.source = "a red parrot"
        try IO.write(text.serialize(), to: file("t.emb").path)
        for sub in [["vary", "t.emb", "-n", "1"], ["decode", "t.emb"], ["textdiff", "t.emb", "--to", "a bright photo"]] {
            let r = try run(sub + ["-o", "out.png"])
            XCTAssertEqual(r.status, 64, sub.joined(separator: " "))
            // vary and decode first say which decoder they use.
            let note = sub[0] == "textdiff" ? "" : "unclip \(sub[0]): no diffusion decoder installed: using the patch decoder (`unclip model pull kandinsky-2.2` installs it)\n"
            XCTAssertEqual(r.stderr, note + "unclip \(sub[0]): t.emb: a text embedding has no exemplar to take pixels from; give one with --exemplar IMAGE\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: file("out.png").path))
        }
        let ok = try run(["decode", "t.emb", "--exemplar", EditFixtures.blue, "-o", "out.png"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(try EditFixtures.png(file("out.png")).width, 96)
        XCTAssertEqual(try run(["decode", "t.emb", "--exemplar", EditFixtures.blue, "--exemplar-size", "48", "-o", "small.png"]).status, 0)
        let small = try EditFixtures.png(file("small.png"))
        XCTAssertEqual([small.width, small.height], [48, 32], "--exemplar is shrunk to working size like encode's")
        let i = try run(["interpolate", "a.emb", "t.emb", "--exemplar", EditFixtures.blue, "--frames", "2", "-o", "i-%d.png"])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(try EditFixtures.png(file("i-1.png")), try EditFixtures.image(EditFixtures.blue)), 35)
    }

    func testEmbeddingsFromAnotherModelAreRefused() throws {
        var other = try EditFixtures.embedding(EditFixtures.blue)
        other.model = "ViT-B-32"; other.modelHash = String(repeating: "ab", count: 32)
        try IO.write(other.serialize(), to: file("o.emb").path)
        let r = try run(["interpolate", "a.emb", "o.emb", "--frames", "3", "-o", "f-%d.png"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("embeddings from different models cannot be mixed"), r.stderr)
        let v = try run(["vary", "o.emb", "-n", "1", "-o", "v.png"])
        XCTAssertEqual(v.status, 64)
        XCTAssertTrue(v.stderr.contains("\nunclip vary: o.emb was made with model ViT-B-32 (abababababab) but the model loaded is statistic"), v.stderr)
    }

    func testWrongKindOfInputIsNamed() throws {
        let r = try run(["decode", EditFixtures.red])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("this is a PNG image, not an embedding file: run `unclip encode` first"), r.stderr)
    }

    func testBadValuesAndCaptionsAreUsageErrors() throws {
        XCTAssertEqual(try run(["vary", "a.emb", "--strength", "3"]).status, 64)
        XCTAssertEqual(try run(["interpolate", "a.emb", "b.emb", "--at", "1.5"]).status, 64)
        XCTAssertEqual(try run(["textdiff", "a.emb", "--to", "x", "--theta", "2"]).status, 64)
        let same = try run(["textdiff", "a.emb", "--from", "a photo", "--to", "a photo of a dog", "-o", "x.png"])
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.contains("embed to the same vector"), same.stderr)
    }

    func testTextdiffWithoutAModelSaysSo() throws {
        // An empty model store, whatever this machine has installed.
        let r = try CLI.run(["textdiff", "a.emb", "--to", "a bright photo", "-o", "x.png"], cwd: dir,
                            env: ["UNCLIP_TEST_EMBEDDER": "", "UNCLIP_MODEL": "", "XDG_CACHE_HOME": dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("unclip textdiff: textdiff needs a CLIP model"), r.stderr)
    }

    // MARK: interpolate

    func testInterpolationEndpointsMonotoneFramesAndSheet() throws {
        let r = try run(["interpolate", "a.emb", "b.emb", "--frames", "5", "-o", "f-%d.png", "--sheet", "sheet.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let frames = try (0..<5).map { try EditFixtures.png(file("f-\($0).png")) }
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(frames[0], try EditFixtures.image(EditFixtures.red)), 35)
        XCTAssertGreaterThanOrEqual(EditFixtures.psnr(frames[4], try EditFixtures.image(EditFixtures.blue)), 35)
        let zb = try EditFixtures.embedding(EditFixtures.blue).embedding
        let toB = try frames.map { try EditFixtures.cosine($0, zb) }
        for i in 1..<5 { XCTAssertGreaterThan(toB[i], toB[i - 1], "\(toB)") }
        let sheet = try EditFixtures.png(file("sheet.png"))
        XCTAssertEqual(sheet.width, 5 * 96 + 6 * 4)
        XCTAssertEqual(sheet.height, 64 + 2 * 4)
    }

    func testAtThetaIsTheSameFrameAsInTheSequence() throws {
        XCTAssertEqual(try run(["interpolate", "a.emb", "b.emb", "--frames", "3", "--seed", "2", "-o", "f-%d.png"]).status, 0)
        let one = try run(["interpolate", "a.emb", "b.emb", "--at", "0.5", "--seed", "2"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(try EditFixtures.png(one.stdout), try EditFixtures.png(file("f-1.png")))
        let other = try run(["interpolate", "a.emb", "b.emb", "--at", "0.5", "--seed", "9"])
        XCTAssertNotEqual(try EditFixtures.png(other.stdout), try EditFixtures.png(file("f-1.png")))
    }

    func testInterpolateNeedsTwoRecords() throws {
        let r = try run(["interpolate", "-", "--frames", "3", "-o", "f-%d.png"], stdin: try Data(contentsOf: URL(fileURLWithPath: a)))
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "unclip interpolate: stdin holds 1 embedding; interpolate needs two: give A and B, or a stream of two records\n")
    }

    func testInterpolateEmbeddingOnlyFollowsTheSlerp() throws {
        let r = try run(["interpolate", "a.emb", "b.emb", "--frames", "3", "--embedding-only"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let recs = try EmbeddingFile.parseStream(Array(r.stdout), name: "out")
        XCTAssertEqual(recs.count, 3)
        let za = try EditFixtures.embedding(EditFixtures.red).embedding, zb = try EditFixtures.embedding(EditFixtures.blue).embedding
        XCTAssertEqual(recs[1].embedding, Slerp.slerp(za, zb, 0.5))
        XCTAssertEqual(recs[0].exemplar, try EditFixtures.image(EditFixtures.red))
        XCTAssertEqual(recs[2].exemplar, try EditFixtures.image(EditFixtures.blue))
        XCTAssertTrue(recs[1].extra["edit"]?.hasPrefix("interpolate θ=0.5000 from a.emb to b.emb") ?? false, "\(recs[1].extra)")
    }

    // MARK: textdiff

    func testTextdiffBrightensAndWarmsWithoutTouchingTheOtherAttribute() throws {
        let ex = try EditFixtures.image(EditFixtures.blue)
        XCTAssertEqual(try run(["textdiff", "b.emb", "--to", "a bright photo", "-o", "bright.png"]).status, 0)
        XCTAssertEqual(try run(["textdiff", "b.emb", "--from", "a photo", "--to", "a warm photo", "-o", "warm.png"]).status, 0)
        let bright = try EditFixtures.png(file("bright.png")), warm = try EditFixtures.png(file("warm.png"))
        XCTAssertGreaterThan(EditFixtures.meanLuma(bright), EditFixtures.meanLuma(ex) + 10)
        XCTAssertEqual(EditFixtures.meanWarmth(bright), EditFixtures.meanWarmth(ex), accuracy: 8)
        XCTAssertGreaterThan(EditFixtures.meanWarmth(warm), EditFixtures.meanWarmth(ex) + 6)
        XCTAssertEqual(EditFixtures.meanLuma(warm), EditFixtures.meanLuma(ex), accuracy: 8)
        // Still the same picture: edges where they were.
        XCTAssertGreaterThan(EditFixtures.structure(bright, ex), 0.9)
        XCTAssertGreaterThan(EditFixtures.structure(warm, ex), 0.9)
        let bytes = try IO.read(file("warm.png").path)
        XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:edit"), "textdiff from \"a photo\" to \"a warm photo\" θ=0.4")
        XCTAssertNotNil(EditFixtures.pngText(bytes, "unclip:adjustments"))
    }

    func testTextdiffStepsStartAtTheOriginalAndMoveSteadily() throws {
        let r = try run(["textdiff", "b.emb", "--to", "a photo at night", "--theta", "0.5", "--steps", "4", "-o", "s-%d.png", "--sheet", "sheet.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let steps = try (0..<4).map { try EditFixtures.png(file("s-\($0).png")) }
        XCTAssertEqual(steps[0], try EditFixtures.image(EditFixtures.blue), "θ = 0 is the image itself")
        let luma = steps.map(EditFixtures.meanLuma)
        for i in 1..<4 { XCTAssertLessThan(luma[i], luma[i - 1], "\(luma)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: file("sheet.png").path))
    }

    func testTextdiffWithResynthesisIsSeededAndStillAnEdit() throws {
        let args = ["textdiff", "a.emb", "--to", "a photo at night", "--strength", "0.5", "--candidates", "2"]
        XCTAssertEqual(try run(args + ["--seed", "1", "-o", "r1.png"]).status, 0)
        XCTAssertEqual(try run(args + ["--seed", "1", "-o", "r1b.png"]).status, 0)
        XCTAssertEqual(try run(args + ["--seed", "2", "-o", "r2.png"]).status, 0)
        XCTAssertEqual(try run(["textdiff", "a.emb", "--to", "a photo at night", "--seed", "1", "-o", "plain.png"]).status, 0)
        let r1 = try EditFixtures.png(file("r1.png")), plain = try EditFixtures.png(file("plain.png"))
        XCTAssertEqual(try EditFixtures.png(file("r1b.png")), r1)
        XCTAssertNotEqual(try EditFixtures.png(file("r2.png")), r1)
        XCTAssertNotEqual(r1, plain, "re-synthesised, not the exemplar itself")
        XCTAssertLessThan(EditFixtures.meanLuma(r1), EditFixtures.meanLuma(try EditFixtures.image(EditFixtures.red)) - 5)
    }

    // MARK: decode

    func testDecodingAnUneditedEmbeddingGivesItsExemplar() throws {
        let r = try run(["decode", "a.emb"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try EditFixtures.png(r.stdout), try EditFixtures.image(EditFixtures.red))
    }

    func testDecodeAStreamNeedsAPattern() throws {
        let both = try Data(contentsOf: URL(fileURLWithPath: a)) + Data(contentsOf: URL(fileURLWithPath: b))
        XCTAssertEqual(try run(["decode", "-"], stdin: both).status, 64)
        let r = try run(["decode", "-", "-o", "d-%d.png"], stdin: both)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try EditFixtures.png(file("d-1.png")), try EditFixtures.image(EditFixtures.blue))
    }
}
