import Foundation
import UnclipKit
import XCTest

final class InpaintCLITests: XCTestCase {
    /// A 64×48 photo-like RGB image and a white-box mask, written as PNGs.
    private func scene(_ dir: URL, maskValue: UInt8 = 255, maskSize: (Int, Int) = (64, 48)) throws -> (image: Image, imagePath: String, maskPath: String) {
        var img = Image(width: 64, height: 48, channels: 3)
        for y in 0..<48 { for x in 0..<64 { for c in 0..<3 {
            img[x, y, c] = UInt8((x * 3 + y * 2 + c * 50 + (x * y) % 17 * 4) % 256)
        } } }
        let (mw, mh) = maskSize
        var mask = Image(width: mw, height: mh, channels: 1)
        for y in 0..<mh { for x in 0..<mw where x >= 20 && x < 36 && y >= 14 && y < 30 { mask[x, y, 0] = maskValue } }
        let ip = dir.appendingPathComponent("in.png").path, mp = dir.appendingPathComponent("mask.png").path
        try ImageCodec.write(img, to: ip)
        try ImageCodec.write(mask, to: mp)
        return (img, ip, mp)
    }

    private func inBox(_ i: Int) -> Bool { let x = i % 64, y = i / 64; return x >= 20 && x < 36 && y >= 14 && y < 30 }

    func testMaskFileFillsTheHoleAndKeepsEverythingElse() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let out = dir.appendingPathComponent("out.png").path
        let r = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--seed", "3", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.isEmpty)
        let res = try ImageCodec.read(out)
        XCTAssertEqual(res.channels, 3)
        var changed = 0
        for i in 0..<res.pixelCount {
            let same = res.pixels[(3 * i)..<(3 * i + 3)] == s.image.pixels[(3 * i)..<(3 * i + 3)]
            if !inBox(i) { XCTAssertTrue(same, "pixel \(i) outside the mask changed"); if !same { return } }
            else if !same { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 100)
        // Provenance: the seed is recorded in the PNG.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertNotNil(bytes.range(of: Data("unclip:seed\u{0}3".utf8)))
    }

    func testStdinToStdoutIsTheSameAsFiles() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let out = dir.appendingPathComponent("out.png").path
        XCTAssertEqual(try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "-o", out]).status, 0)
        let piped = try CLI.run(["inpaint", "-", "--mask", s.maskPath], stdin: try Data(contentsOf: URL(fileURLWithPath: s.imagePath)))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(try ImageCodec.decode([UInt8](piped.stdout), name: "stdout").image, try ImageCodec.read(out))
    }

    func testInvertedMaskAndAlphaConventionsAgree() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let reference = dir.appendingPathComponent("ref.png").path
        XCTAssertEqual(try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "-o", reference]).status, 0)
        let ref = try ImageCodec.read(reference)

        // The same hole drawn black on white, with --invert-mask.
        var inv = try ImageCodec.read(s.maskPath)
        for i in 0..<inv.pixels.count { inv.pixels[i] = 255 - inv.pixels[i] }
        let invPath = dir.appendingPathComponent("inv.png").path
        try ImageCodec.write(inv, to: invPath)
        let o1 = dir.appendingPathComponent("o1.png").path
        XCTAssertEqual(try CLI.run(["inpaint", s.imagePath, "--mask", invPath, "--invert-mask", "-o", o1]).status, 0)
        XCTAssertEqual(try ImageCodec.read(o1), ref)

        // The same hole as transparency in the image itself: the result is opaque RGB.
        var rgba = Image(width: 64, height: 48, channels: 4)
        for i in 0..<rgba.pixelCount {
            for c in 0..<3 { rgba.pixels[4 * i + c] = s.image.pixels[3 * i + c] }
            rgba.pixels[4 * i + 3] = inBox(i) ? 0 : 255
        }
        let rgbaPath = dir.appendingPathComponent("cutout.png").path
        try ImageCodec.write(rgba, to: rgbaPath)
        let o2 = dir.appendingPathComponent("o2.png").path
        let r = try CLI.run(["inpaint", rgbaPath, "-o", o2])
        XCTAssertEqual(r.status, 0, r.stderr)
        let alphaResult = try ImageCodec.read(o2)
        XCTAssertEqual(alphaResult.channels, 3)
        for i in 0..<ref.pixelCount where !inBox(i) {
            XCTAssertEqual(alphaResult.pixels[(3 * i)..<(3 * i + 3)], s.image.pixels[(3 * i)..<(3 * i + 3)])
        }
    }

    func testSoftMaskBlendsAndGrowWidensTheHole() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir, maskValue: 128)
        let soft = dir.appendingPathComponent("soft.png").path
        XCTAssertEqual(try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "-o", soft]).status, 0)
        let res = try ImageCodec.read(soft)
        for i in 0..<res.pixelCount where !inBox(i) {
            XCTAssertEqual(res.pixels[(3 * i)..<(3 * i + 3)], s.image.pixels[(3 * i)..<(3 * i + 3)])
        }
        let grown = dir.appendingPathComponent("grown.png").path
        XCTAssertEqual(try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--grow", "3", "-o", grown]).status, 0)
        let g = try ImageCodec.read(grown)
        // Pixels 1-3 px outside the box may change now; 5 px outside may not.
        var ringChanged = 0
        for y in 0..<48 { for x in 0..<64 {
            let i = y * 64 + x
            let dx = max(20 - x, x - 35, 0), dy = max(14 - y, y - 29, 0)
            let same = g.pixels[(3 * i)..<(3 * i + 3)] == s.image.pixels[(3 * i)..<(3 * i + 3)]
            if dx * dx + dy * dy > 9 { XCTAssertTrue(same, "(\(x),\(y)) beyond --grow changed") }
            else if !inBox(i) && !same { ringChanged += 1 }
        } }
        XCTAssertGreaterThan(ringChanged, 0)
    }

    func testSeveralResultsNeedAPattern() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let r = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "-n", "2", "--noise", "0.5", "-o", "fill-%d.png"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try ImageCodec.read(dir.appendingPathComponent("fill-0.png").path)
        let b = try ImageCodec.read(dir.appendingPathComponent("fill-1.png").path)
        XCTAssertNotEqual(a, b, "seeds 0 and 1 with noise should differ")
        let none = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "-n", "2"], cwd: dir)
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("give -o with %d"), none.stderr)
    }

    func testNoModelMeansOneNoteAndAnUnsteeredResult() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        // An empty model store, whatever is installed on this machine.
        let r = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--prompt", "a red door", "-o", "o.png"], cwd: dir,
                            env: ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""])
        XCTAssertEqual(r.status, 0, r.stderr)
        // One note for the decoder, one for the steering.
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("unclip inpaint: no diffusion decoder installed: using the patch decoder"), r.stderr)
        XCTAssertTrue(r.stderr.contains("not steered"), r.stderr)
    }

    func testSteeringKeepsTheCandidateClosestToTheTargetEmbedding() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let model = Fixtures.path("clip/tiny-gelu")
        // One candidate per seed: what each seed decodes to on its own.
        var bySeed: [String: Image] = [:]
        for seed in ["10", "11", "12"] {
            let out = dir.appendingPathComponent("seed\(seed).png").path
            let r = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--model", model, "--candidates", "1",
                                 "--noise", "0.5", "--seed", seed, "-o", out], env: ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stderr, "unclip inpaint: no diffusion decoder installed: using the patch decoder (`unclip model pull kandinsky-2.2` installs it)\n",
                           "steering with a model prints only the decoder note")
            bySeed[seed] = try ImageCodec.read(out)
        }
        XCTAssertGreaterThan(Set(bySeed.values.map(\.pixels)).count, 1, "the seeds should give different candidates")
        let steered = dir.appendingPathComponent("steered.png").path
        let r = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--model", model, "--candidates", "3",
                             "--noise", "0.5", "--seed", "10", "-o", steered])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: steered)), as: UTF8.self)
        XCTAssertTrue(text.contains("unclip:clip-score"), "the CLIP score is recorded")
        let chosen = try ImageCodec.read(steered)
        let seed = bySeed.first { $0.value == chosen }?.key
        XCTAssertNotNil(seed, "the steered result is one of the candidates")
        if let seed { XCTAssertTrue(text.contains("unclip:seed\u{0}\(seed)"), "the chosen candidate's seed is recorded") }

        // An explicit model that cannot be loaded is an error, not a silent fallback.
        let bad = try CLI.run(["inpaint", s.imagePath, "--mask", s.maskPath, "--model", dir.appendingPathComponent("nope").path, "-o", "x.png"], cwd: dir)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("no such directory"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.png").path))
    }

    /// Every bad input: the exit status, the one stderr line, and no output file.
    func testBadInputsFailCleanly() throws {
        let dir = try CLI.tempDir(self)
        let s = try scene(dir)
        let wrong = try scene(dir.appendingPathComponent("w", isDirectory: true).creatingDirectory(), maskSize: (32, 48))
        let empty = dir.appendingPathComponent("empty.png").path
        try ImageCodec.write(Image(width: 64, height: 48, channels: 1, fill: 0), to: empty)
        let full = dir.appendingPathComponent("full.png").path
        try ImageCodec.write(Image(width: 64, height: 48, channels: 1, fill: 255), to: full)
        let notImage = dir.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notImage))
        let cases: [([String], Int32, String)] = [
            (["inpaint", s.imagePath, "--mask", wrong.maskPath], 64, "mask is 32x48 but"),
            (["inpaint", s.imagePath, "--mask", empty], 64, "the mask is empty"),
            (["inpaint", s.imagePath, "--mask", full], 64, "covers the whole image"),
            (["inpaint", s.imagePath], 64, "no --mask given and the image has no alpha channel"),
            (["inpaint", s.imagePath, "--mask", "/no/such/mask.png"], 1, "/no/such/mask.png: no such file"),
            (["inpaint", "/no/such/in.png", "--mask", s.maskPath], 1, "/no/such/in.png: no such file"),
            (["inpaint", s.imagePath, "--mask", notImage], 1, "notes.txt"),
            (["inpaint", s.imagePath, "--mask", s.maskPath, "--grow", "-2"], 64, "--grow"),
            (["inpaint", s.imagePath, "--mask", s.maskPath, "-n", "0"], 64, "-n must be at least 1"),
            (["inpaint", s.imagePath, "--mask", s.maskPath, "--prompt", "x", "--embedding", "e.emb"], 64, "not both"),
            (["inpaint", s.imagePath, "--mask", s.maskPath, "--embedding", notImage], 1, "notes.txt"),
        ]
        for (args, status, message) in cases {
            let out = dir.appendingPathComponent("out.png")
            let r = try CLI.run(args + ["-o", out.path], cwd: dir)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("unclip inpaint: ") || r.stderr.hasPrefix("Error: "), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(args) left an output file")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".unclip-") }
            XCTAssertEqual(leftovers, [])
        }
    }
}

private extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
