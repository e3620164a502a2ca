import Foundation
import XCTest
import UnclipKit

/// The prior through the real binary: `encode --text --prior`, `generate`
/// and `inpaint --prompt`, with the tiny pipeline of Fixtures/diffusion.
final class PriorCLITests: XCTestCase {
    let pipeline = Fixtures.path("diffusion/tiny-a")
    let photo = Fixtures.path("clip-images/kodim03-96x64.png")

    func sh(_ dir: URL, _ script: String) throws -> CLI.Result {
        let path = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
        return try CLI.shell("export XDG_CACHE_HOME='\(dir.path)' UNCLIP_MODEL='' PATH='\(path)':\"$PATH\"; M='\(pipeline)'\n" + script, cwd: dir)
    }

    func file(_ dir: URL, _ name: String) -> URL { dir.appendingPathComponent(name) }

    /// A caption's image embedding is what the library's prior makes, and
    /// every decoding subcommand takes it through a pipe.
    func testPriorEmbeddingsFlowThroughPipes() throws {
        let dir = try CLI.tempDir(self)
        let r = try sh(dir, """
            unclip encode --model "$M" --text 'a lighthouse at dusk' --prior --prior-steps 5 --seed 3 > l.emb
            unclip encode --model "$M" --text 'a lighthouse at dusk' --prior --prior-steps 5 --seed 3 | unclip decode --model "$M" --steps 3 > d.png
            unclip encode --model "$M" --text 'a lighthouse at dusk' --prior | unclip vary --model "$M" -n 2 --steps 3 -o v-%d.png
            unclip encode --model "$M" --text '' --prior --prior-guidance 1 > empty.emb
            unclip encode --model "$M" --prior --text 'the same scene in winter' '\(photo)' | unclip interpolate --model "$M" - --frames 3 --steps 2 -o i-%d.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let rec = try EmbeddingFile.read(file(dir, "l.emb").path)
        XCTAssertEqual(rec.kind, .image)
        XCTAssertEqual(rec.source, "a lighthouse at dusk")
        XCTAssertNil(rec.exemplar)
        XCTAssertEqual(rec.extra["prior_steps"], "5")
        var s = PriorSettings()
        s.steps = 5
        let p = try KandinskyPipeline(directory: URL(fileURLWithPath: pipeline))
        XCTAssertTrue(p.made(rec))
        let want = try p.priorEmbedding(caption: "a lighthouse at dusk", settings: s, seed: 3)
        XCTAssertEqual(rec.rawEmbedding!.count, want.count)
        for (a, b) in zip(rec.rawEmbedding!, want) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
        let d = try ImageCodec.read(file(dir, "d.png").path)
        XCTAssertEqual([d.width, d.height], [32, 32], "no exemplar: square at the native area")
        XCTAssertTrue(try ImageCodec.read(file(dir, "v-0.png").path).pixels != ImageCodec.read(file(dir, "v-1.png").path).pixels)
        XCTAssertEqual(try EmbeddingFile.read(file(dir, "empty.emb").path).source, "", "the empty caption is the unconditional embedding")
        // From a photo to a caption's picture, both records in one stream.
        for i in 0..<3 { XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "i-\(i).png").path), "frame \(i)") }
    }

    func testGenerateKeepsTheBestAndIsDeterministic() throws {
        let dir = try CLI.tempDir(self)
        let r = try sh(dir, """
            unclip generate 'a red barn in the snow' --model "$M" -n 2 --candidates 2 --steps 3 --prior-steps 4 --seed 5 -o a-%d.png
            unclip generate 'a red barn in the snow' --model "$M" -n 2 --candidates 2 --steps 3 --prior-steps 4 --seed 5 -o b-%d.png
            unclip generate 'a red barn in the snow' --model "$M" --candidates 1 --steps 3 --prior-steps 4 --seed 6 > c.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        for i in 0..<2 {
            XCTAssertEqual(try ImageCodec.read(file(dir, "a-\(i).png").path).pixels, try ImageCodec.read(file(dir, "b-\(i).png").path).pixels,
                           "same seed, same pixels")
        }
        let a0 = try IO.read(file(dir, "a-0.png").path)
        XCTAssertEqual(EditFixtures.pngText(a0, "unclip:caption"), "a red barn in the snow")
        XCTAssertEqual(EditFixtures.pngText(a0, "unclip:decoder"), "diffusion")
        XCTAssertNotNil(EditFixtures.pngText(a0, "unclip:clip-score"), "picked from 4 candidates by CLIP")
        XCTAssertNil(EditFixtures.pngText(try IO.read(file(dir, "c.png").path), "unclip:clip-score"), "one candidate: nothing to pick")
        XCTAssertTrue(try ImageCodec.read(file(dir, "a-0.png").path).pixels != ImageCodec.read(file(dir, "a-1.png").path).pixels)
    }

    /// --prompt goes through the prior when it is there, and says so when it is not.
    func testInpaintPromptUsesThePriorOrSaysItFellBack() throws {
        let dir = try CLI.tempDir(self)
        let noPrior = file(dir, "no-prior")
        try FileManager.default.copyItem(atPath: pipeline, toPath: noPrior.path)
        try FileManager.default.removeItem(at: noPrior.appendingPathComponent("prior/prior"))
        var mask = Image(width: 96, height: 64, channels: 1, fill: 0)
        for y in 20..<40 { for x in 30..<60 { mask.pixels[y * 96 + x] = 255 } }
        try IO.write(try ImageCodec.encodePNG(mask), to: file(dir, "m.png").path)
        let r = try sh(dir, """
            unclip inpaint '\(photo)' --mask m.png --model "$M" --steps 3 --prompt 'a red door' --prior-steps 4 -o a.png
            unclip inpaint '\(photo)' --mask m.png --model "$M" --steps 3 --prompt 'a red door' --strength 0 -o zero.png
            unclip inpaint '\(photo)' --mask m.png --model "$M" --steps 3 -o plain.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let plain = try ImageCodec.read(file(dir, "plain.png").path).pixels
        XCTAssertTrue(try ImageCodec.read(file(dir, "a.png").path).pixels != plain, "the prompt changed the fill")
        XCTAssertEqual(try ImageCodec.read(file(dir, "zero.png").path).pixels, plain, "strength 0 keeps the photo's embedding")
        let f = try sh(dir, "unclip inpaint '\(photo)' --mask m.png --model '\(noPrior.path)' --steps 3 --prompt 'a red door' -o b.png")
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertEqual(f.stderr, "unclip inpaint: note: no prior installed: --prompt steers toward the caption's text embedding (`unclip model pull kandinsky-2.2 --only prior` adds the prior)\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "b.png").path))
    }

    func testBadInputIsOneLineAndLeavesNoFile() throws {
        let dir = try CLI.tempDir(self)
        let out = file(dir, "out")
        let noPrior = file(dir, "no-prior"), mixed = file(dir, "mixed")
        try FileManager.default.copyItem(atPath: pipeline, toPath: noPrior.path)
        try FileManager.default.removeItem(at: noPrior.appendingPathComponent("prior/prior"))
        try FileManager.default.copyItem(atPath: pipeline, toPath: mixed.path)
        try FileManager.default.removeItem(at: mixed.appendingPathComponent("decoder"))
        try FileManager.default.copyItem(atPath: Fixtures.path("diffusion/tiny-b/decoder"), toPath: mixed.appendingPathComponent("decoder").path)
        let env = ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""]
        func check(_ args: [String], status: Int32, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLI.run(args + ["-o", out.path], env: env)
            XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.hasPrefix(message), r.stderr, file: file, line: line)
            if !message.hasPrefix("Error:") { XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr, file: file, line: line) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), file: file, line: line)
        }
        try check(["encode", "--text", "a cat", "--prior", "--model", noPrior.path], status: 1,
                  "unclip encode: \(noPrior.path)/prior: no prior/, needed by the prior: run `unclip model pull kandinsky-2.2 --only prior`")
        try check(["generate", "a cat", "--model", noPrior.path], status: 1,
                  "unclip generate: \(noPrior.path)/prior: no prior/, needed by the prior: run `unclip model pull kandinsky-2.2 --only prior`")
        try check(["generate", "a cat"], status: 1,
                  "unclip generate: no diffusion pipeline installed, needed by generate: run `unclip model pull kandinsky-2.2`")
        try check(["encode", "--text", "a cat", "--prior", "--model", Fixtures.path("clip/tiny-gelu")], status: 64,
                  "unclip encode: \(Fixtures.path("clip/tiny-gelu")) is a CLIP model, not a diffusion pipeline, needed by --prior")
        try check(["generate", "a cat", "--model", mixed.path], status: 1,
                  "unclip generate: \(mixed.path)/prior/prior: the prior makes 24-wide image embeddings, but the decoder's UNet reads 20")
        try check(["encode", "--prior", "--model", pipeline, photo], status: 64, "Error: --prior turns --text captions into image embeddings: give --text")
        try check(["encode", "--text", "a", "--prior-steps", "5", "--model", pipeline], status: 64, "Error: --prior-steps and --prior-guidance need --prior")
        try check(["encode", "--text", "a", "--prior", "--prior-steps", "1", "--model", pipeline], status: 64, "Error: --prior-steps must be between 2 and 1000")
        try check(["generate", "a cat", "--model", pipeline, "--decoder", "patch"], status: 64, "Error: generate draws with the diffusion decoder only")
        // Over-long: cut at the encoder's 16 tokens, as the reference does, with a note.
        let long = String(repeating: "a very long caption about a red barn ", count: 4)
        let r = try CLI.run(["encode", "--text", long, "--prior", "--prior-steps", "3", "--model", pipeline, "-o", out.path], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "unclip encode: note: --text 1 is longer than the 16 tokens the text encoder reads; the rest is ignored\n")
        let g = try CLI.run(["generate", long, "--candidates", "1", "--steps", "2", "--prior-steps", "3", "--model", pipeline,
                             "-o", file(dir, "long.png").path], env: env)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(g.stderr, "unclip generate: note: the caption is longer than the 16 tokens the text encoder reads; the rest is ignored\n")
        let short = try CLI.run(["generate", "a red barn", "--candidates", "1", "--steps", "2", "--prior-steps", "3", "--model", pipeline,
                                 "-o", file(dir, "short.png").path], env: env)
        XCTAssertEqual(short.status, 0, short.stderr)
        XCTAssertEqual(short.stderr, "", "no note for a caption that fits")
    }
}
