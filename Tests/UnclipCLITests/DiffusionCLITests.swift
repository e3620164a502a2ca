import Foundation
import XCTest
import UnclipKit

/// `decode` and `vary` on the diffusion decoder, through the real binary,
/// with the tiny pipeline folders of Fixtures/diffusion.
final class DiffusionCLITests: XCTestCase {
    let pipeline = Fixtures.path("diffusion/tiny-a")
    let photo = Fixtures.path("clip-images/kodim03-96x64.png")

    /// A scratch store, so nothing installed on this machine changes the outcome.
    func env(_ dir: URL) -> [String: String] { ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""] }
    func sh(_ dir: URL) -> String { "export XDG_CACHE_HOME='\(dir.path)' UNCLIP_MODEL=''; " }

    func pixels(_ path: URL) throws -> Image { try ImageCodec.read(path.path).rgb() }

    func reference() throws -> SafeTensors {
        try SafeTensors(mappingFile: Fixtures.path("diffusion/tiny-a/reference.safetensors"))
    }

    /// `decode` of a record carrying a latent is KandinskyV22Pipeline given
    /// the same embedding, negative embedding (the pipeline's zero embed) and x_T.
    func testDecodeOfARecordWithALatentMatchesKandinskyV22Pipeline() throws {
        let dir = try CLI.tempDir(self)
        let ref = try reference()
        let p = try KandinskyPipeline(directory: URL(fileURLWithPath: pipeline))
        let raw = try ref.floats("pipe/image_embeds")
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let shape = try ref.info("pipe/latents").shape
        let record = EmbeddingFile(embedding: raw.map { $0 / norm }, exemplar: nil, kind: .image, model: p.modelName,
                                   modelHash: p.modelHash, source: "reference", sourceHash: "", resolution: 32, extra: [:],
                                   norm: norm, latent: .init(shape: Array(shape.dropFirst()), values: try ref.floats("pipe/latents")))
        let emb = dir.appendingPathComponent("ref.emb")
        try IO.write(record.serialize(), to: emb.path)
        for (s, key) in [("ddim", "ddim"), ("dpm++", "dpmpp")] {
            let out = dir.appendingPathComponent("\(key).png")
            let r = try CLI.run(["decode", emb.path, "--model", pipeline, "--scheduler", s, "--steps", "5", "--guidance", "4",
                                 "-o", out.path], env: env(dir))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stderr, "")
            let im = try pixels(out)
            XCTAssertEqual([im.width, im.height], [48, 32])
            let want = try ref.bytes("pipe/\(key)/image_u8")
            let worst = zip(im.pixels, want).map { abs(Int($0) - Int($1)) }.max()!
            print("decode CLI \(s): max \(worst) levels against KandinskyV22Pipeline")
            XCTAssertLessThanOrEqual(worst, 1, s)
            let bytes = try IO.read(out.path)
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:decoder"), "diffusion")
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:scheduler"), s)
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:steps"), "5")
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:guidance"), "4.0")
            XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:seed"), "0")
        }
        // The latent fixes the size.
        let r = try CLI.run(["decode", emb.path, "--model", pipeline, "--size", "32x32", "-o", dir.appendingPathComponent("x.png").path],
                            env: env(dir))
        XCTAssertEqual(r.status, 64)
        XCTAssertEqual(r.stderr, "unclip decode: --size 32x32 differs from the 48x32 of the embedding's latent: leave --size out\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.png").path))
    }

    /// A `vary --embedding-only` record below strength 1 (exemplar, strength,
    /// and its x_T as `latent`) decodes image-to-image: given the pipeline's
    /// own noise as the latent, that is KandinskyV22Img2ImgPipeline.
    func testVariationRecordDecodesAsKandinskyV22Img2ImgPipeline() throws {
        let dir = try CLI.tempDir(self)
        let ref = try reference()
        let p = try KandinskyPipeline(directory: URL(fileURLWithPath: pipeline))
        let shape = try ref.info("pipe_img2img/image").shape
        let photo = Image(width: shape[1], height: shape[0], channels: 3, pixels: try ref.bytes("pipe_img2img/image"))
        let raw = try ref.floats("pipe_img2img/image_embeds")
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let nshape = try ref.info("pipe_img2img/ddim/noise").shape
        let record = EmbeddingFile(embedding: raw.map { $0 / norm }, exemplar: photo, kind: .image, model: p.modelName,
                                   modelHash: p.modelHash, source: "reference", sourceHash: "", resolution: 32,
                                   extra: ["strength": String(try ref.floats("pipe_img2img/strength")[0]), "seed": "0",
                                           "scheduler": "ddim", "steps": "5", "guidance": "4.0"],
                                   norm: norm, latent: .init(shape: Array(nshape.dropFirst()), values: try ref.floats("pipe_img2img/ddim/noise")))
        let emb = dir.appendingPathComponent("var.emb")
        try IO.write(record.serialize(), to: emb.path)
        let out = dir.appendingPathComponent("out.png")
        let r = try CLI.run(["decode", emb.path, "--model", pipeline, "-o", out.path], env: env(dir))
        XCTAssertEqual(r.status, 0, r.stderr)
        let im = try pixels(out)
        let want = try ref.bytes("pipe_img2img/ddim/image_u8")
        let worst = zip(im.pixels, want).map { abs(Int($0) - Int($1)) }.max()!
        print("decode CLI of a strength-0.6 variation record: max \(worst) levels against KandinskyV22Img2ImgPipeline")
        XCTAssertEqual(im.pixels.count, want.count)
        XCTAssertLessThanOrEqual(worst, 1)
        // Sampler settings in a record are checked like options.
        var bad = record
        bad.extra["steps"] = "0"
        try IO.write(bad.serialize(), to: emb.path)
        let b = try CLI.run(["decode", emb.path, "--model", pipeline, "-o", out.path + ".2"], env: env(dir))
        XCTAssertEqual(b.status, 64)
        XCTAssertEqual(b.stderr, "unclip decode: the embedding's sampler settings: steps 0 is not between 1 and 1000\n")
    }

    func testEncodeVaryPipeIsDeterministicAndSeedsDiffer() throws {
        let dir = try CLI.tempDir(self)
        let common = "--model '\(pipeline)' --steps 4"
        let r = try CLI.shell(sh(dir) + """
            unclip encode --model '\(pipeline)' '\(photo)' | unclip vary \(common) -n 2 -o a-%d.png --candidates 2 --progress
            unclip encode --model '\(pipeline)' '\(photo)' > p.emb
            unclip vary p.emb \(common) -n 2 -o b-%d.png --candidates 2
            unclip vary p.emb \(common) -n 1 -o c.png --seed 5
            unclip vary p.emb \(common) -n 1 --seed 5 --embedding-only | unclip decode \(common) -o d.png
            unclip vary p.emb \(common) -n 1 --seed 5 --strength 0.5 -o e.png
            unclip vary p.emb \(common) -n 1 --seed 5 --strength 0.5 --embedding-only | unclip decode \(common) -o f.png
            """, cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("vary: 8/16 (50%) steps"), r.stderr)
        let a0 = try pixels(dir.appendingPathComponent("a-0.png")), a1 = try pixels(dir.appendingPathComponent("a-1.png"))
        XCTAssertEqual([a0.width, a0.height], [40, 28], "the exemplar's 3:2 near the decoder's native 32×32")
        XCTAssertTrue(a0.pixels != a1.pixels)
        XCTAssertTrue(try a0.pixels == pixels(dir.appendingPathComponent("b-0.png")).pixels)
        XCTAssertTrue(try a1.pixels == pixels(dir.appendingPathComponent("b-1.png")).pixels)
        let c = try pixels(dir.appendingPathComponent("c.png"))
        XCTAssertTrue(c.pixels != a0.pixels)
        XCTAssertTrue(c.pixels != a1.pixels)
        // A record written with --embedding-only carries its x_T: decode makes the same sample.
        XCTAssertTrue(try c.pixels == pixels(dir.appendingPathComponent("d.png")).pixels)
        let e = try pixels(dir.appendingPathComponent("e.png"))
        XCTAssertTrue(e.pixels != c.pixels)
        XCTAssertTrue(try e.pixels == pixels(dir.appendingPathComponent("f.png")).pixels)
        let bytes = try IO.read(dir.appendingPathComponent("a-0.png").path)
        XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:decoder"), "diffusion")
        XCTAssertEqual(EditFixtures.pngText(bytes, "unclip:scheduler"), "dpm++")
        XCTAssertNotNil(EditFixtures.pngText(bytes, "unclip:clip-score").flatMap(Float.init))
    }

    func testTextEmbeddingDecodesWithoutAnExemplar() throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.shell(sh(dir) + """
            unclip encode --model '\(pipeline)' --text 'a lighthouse at dusk' | unclip decode --model '\(pipeline)' --steps 3 --size 24x16 > t.png
            """, cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let t = try pixels(dir.appendingPathComponent("t.png"))
        XCTAssertEqual([t.width, t.height], [24, 16])
    }

    func testBadInputIsOneLineAndLeavesNoFile() throws {
        let dir = try CLI.tempDir(self)
        let out = dir.appendingPathComponent("out.png")
        let own = dir.appendingPathComponent("own.emb"), foreign = dir.appendingPathComponent("foreign.emb")
        XCTAssertEqual(try CLI.run(["encode", "--model", pipeline, photo, "-o", own.path], env: env(dir)).status, 0)
        XCTAssertEqual(try CLI.run(["encode", "--model", Fixtures.path("clip/tiny-gelu"), photo, "-o", foreign.path], env: env(dir)).status, 0)
        func check(_ args: [String], status: Int32, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLI.run(args + ["-o", out.path], env: env(dir))
            XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.hasPrefix(message), r.stderr, file: file, line: line)
            // Our own errors are one line; the argument parser's add the usage after theirs.
            if !message.hasPrefix("Error:") { XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr, file: file, line: line) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), file: file, line: line)
        }
        // A CLIP ViT embedding given to the pipeline's decoder.
        try check(["vary", foreign.path, "--model", pipeline, "--decoder", "diffusion"], status: 64,
                  "unclip vary: \(foreign.path) was made with tiny-gelu (")
        try check(["decode", own.path, "--model", pipeline, "--size", "50x32"], status: 64,
                  "unclip decode: --size 50x32: width and height must be positive multiples of 4 for this decoder")
        try check(["decode", own.path, "--model", pipeline, "--size", "50by32"], status: 64,
                  "Error: --size 50by32: expected WIDTHxHEIGHT in pixels")
        try check(["decode", own.path, "--model", pipeline, "--scheduler", "euler"], status: 64,
                  "Error: The value 'euler' is invalid for '--scheduler <name>'")
        try check(["decode", own.path, "--model", pipeline, "--steps", "0"], status: 64, "Error: --steps must be between 1 and 1000")
        // A pipeline without its decoder, and one whose UNet checkpoint is cut short.
        let partial = dir.appendingPathComponent("partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pipeline + "/prior", toPath: partial.path + "/prior")
        try check(["decode", own.path, "--model", partial.path, "--decoder", "diffusion"], status: 1,
                  "unclip decode: \(partial.path): no decoder/, needed by --decoder diffusion: run `unclip model pull kandinsky-2.2 --only decoder`")
        let cut = dir.appendingPathComponent("cut")
        try FileManager.default.copyItem(atPath: pipeline, toPath: cut.path)
        let unet = cut.appendingPathComponent("decoder/unet/diffusion_pytorch_model.safetensors").path
        let whole = try IO.read(unet)
        try IO.write(Array(whole.prefix(whole.count - 1000)), to: unet)
        try check(["decode", own.path, "--model", cut.path], status: 1, "unclip decode: ")
        let r = try CLI.run(["decode", own.path, "--model", cut.path, "-o", out.path], env: env(dir))
        XCTAssertTrue(r.stderr.contains("diffusion_pytorch_model.safetensors"), r.stderr)
        // A checkpoint that does not fit its config: the tensor is named.
        let misshaped = dir.appendingPathComponent("misshaped")
        try FileManager.default.copyItem(atPath: pipeline, toPath: misshaped.path)
        let config = misshaped.appendingPathComponent("decoder/movq/config.json").path
        try IO.write(Array(String(decoding: try IO.read(config), as: UTF8.self)
            .replacingOccurrences(of: "\"latent_channels\": 4", with: "\"latent_channels\": 3").utf8), to: config)
        let m = try CLI.run(["decode", own.path, "--model", misshaped.path, "-o", out.path], env: env(dir))
        XCTAssertEqual(m.status, 1, m.stderr)
        XCTAssertTrue(m.stderr.hasPrefix("unclip decode: ") && m.stderr.contains("shape"), m.stderr)
        XCTAssertEqual(m.stderr.filter { $0 == "\n" }.count, 1, m.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testWithoutADiffusionDecoderThePatchDecoderRunsAndSaysSo() throws {
        let dir = try CLI.tempDir(self)
        let r = try CLI.shell(sh(dir) + """
            unclip encode --model '\(Fixtures.path("clip/tiny-gelu"))' '\(photo)' > p.emb
            unclip vary p.emb --model '\(Fixtures.path("clip/tiny-gelu"))' -n 1 -o v.png
            """, cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "unclip vary: no diffusion decoder installed: using the patch decoder (`unclip model pull kandinsky-2.2` installs it)\n")
        XCTAssertEqual(EditFixtures.pngText(try IO.read(dir.appendingPathComponent("v.png").path), "unclip:decoder"), "patch")
    }
}

/// interpolate and textdiff on the diffusion decoder: what they write with
/// --embedding-only decodes to exactly the images they make themselves.
final class DiffusionEditCLITests: XCTestCase {
    let pipeline = Fixtures.path("diffusion/tiny-a")
    let photoA = Fixtures.path("clip-images/kodim03-96x64.png")
    let photoB = Fixtures.path("clip-images/kodim23-80x80.png")

    func sh(_ dir: URL, _ script: String) throws -> CLI.Result {
        try CLI.shell("export XDG_CACHE_HOME='\(dir.path)' UNCLIP_MODEL=''; M='\(pipeline)'\n" + script, cwd: dir)
    }

    func pixels(_ dir: URL, _ name: String) throws -> [UInt8] { try ImageCodec.read(dir.appendingPathComponent(name).path).rgb().pixels }

    /// How many values differ (an equality failure would print every pixel).
    func differing(_ dir: URL, _ a: String, _ b: String) throws -> Int {
        let x = try pixels(dir, a), y = try pixels(dir, b)
        return x.count == y.count ? zip(x, y).filter { $0 != $1 }.count : -1
    }

    func testInterpolationFramesAndTheirRecordsAgree() throws {
        let dir = try CLI.tempDir(self)
        let r = try sh(dir, """
            unclip encode --model "$M" '\(photoA)' '\(photoB)' | unclip interpolate - --model "$M" --invert --frames 3 --steps 4 -o inv-%d.png
            unclip encode --model "$M" '\(photoA)' '\(photoB)' > ab.emb
            unclip interpolate ab.emb --model "$M" --invert --frames 3 --steps 4 --embedding-only -o inv-%d.emb
            for i in 0 1 2; do unclip decode inv-$i.emb --model "$M" -o dec-$i.png; done
            unclip interpolate ab.emb --model "$M" --frames 3 --steps 4 --embedding-only -o same-%d.emb
            unclip interpolate ab.emb --model "$M" --frames 3 --steps 4 -o same-%d.png
            unclip decode same-1.emb --model "$M" -o same-dec-1.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        for i in 0..<3 { XCTAssertEqual(try differing(dir, "inv-\(i).png", "dec-\(i).png"), 0, "frame \(i)") }
        XCTAssertGreaterThan(try differing(dir, "inv-0.png", "inv-2.png"), 0)
        XCTAssertEqual(try differing(dir, "same-1.png", "same-dec-1.png"), 0)
        let png = try IO.read(dir.appendingPathComponent("inv-1.png").path)
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:scheduler"), "ddim", "inversion decodes with DDIM")
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:guidance"), "1.0", "and without guidance")
        // The inverted ends differ in x_T; without --invert every frame shares one.
        let inv = try (0..<3).map { try EmbeddingFile.read(dir.appendingPathComponent("inv-\($0).emb").path) }
        let same = try (0..<3).map { try EmbeddingFile.read(dir.appendingPathComponent("same-\($0).emb").path) }
        XCTAssertNotEqual(inv[0].latent, inv[2].latent)
        XCTAssertEqual(same[0].latent, same[2].latent)
        XCTAssertNotNil(same[0].latent)
        XCTAssertEqual(inv[1].extra["scheduler"], "ddim")
        // The middle frame's raw length lies between the ends'.
        let a = try EmbeddingFile.readAll(dir.appendingPathComponent("ab.emb").path)
        let (lo, hi) = (min(a[0].norm!, a[1].norm!), max(a[0].norm!, a[1].norm!))
        XCTAssertTrue(inv[1].norm! > lo && inv[1].norm! < hi, "\(inv[1].norm!) not in (\(lo), \(hi))")
        XCTAssertEqual(inv[0].norm!, a[0].norm!, accuracy: 1e-4)
    }

    func testTextDiffDecodesFromTheInvertedExemplarAndComposes() throws {
        let dir = try CLI.tempDir(self)
        let r = try sh(dir, """
            unclip encode --model "$M" '\(photoA)' > a.emb
            unclip textdiff a.emb --model "$M" --to 'a photo at night' --steps 2 --theta 0.5 --denoise-steps 4 -o t-%d.png
            unclip textdiff a.emb --model "$M" --to 'a photo at night' --theta 0.5 --denoise-steps 4 --embedding-only | unclip decode --model "$M" -o d.png
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try differing(dir, "t-1.png", "d.png"), 0)
        XCTAssertGreaterThan(try differing(dir, "t-0.png", "t-1.png"), 0)
        let png = try IO.read(dir.appendingPathComponent("t-1.png").path)
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:decoder"), "diffusion")
        XCTAssertEqual(EditFixtures.pngText(png, "unclip:steps"), "4")
    }

    func testInversionRefusesOtherSamplersAndEndsWithoutPhotos() throws {
        let dir = try CLI.tempDir(self)
        let r = try sh(dir, """
            unclip encode --model "$M" '\(photoA)' > a.emb
            unclip encode --model "$M" --text 'a lighthouse' > t.emb
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let env = ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""]
        let out = dir.appendingPathComponent("f-%d.png").path
        var x = try CLI.run(["interpolate", "a.emb", "t.emb", "--model", pipeline, "--invert", "--frames", "2", "-o", out], cwd: dir, env: env)
        XCTAssertEqual(x.status, 64)
        XCTAssertEqual(x.stderr, "unclip interpolate: --invert needs both ends' photos, and t.emb has no exemplar; give one with --exemplar IMAGE\n")
        x = try CLI.run(["interpolate", "a.emb", "a.emb", "--model", pipeline, "--invert", "--scheduler", "dpm++", "-o", out], cwd: dir, env: env)
        XCTAssertEqual(x.status, 64)
        XCTAssertEqual(x.stderr, "unclip interpolate: decoding from an inverted latent needs --scheduler ddim (the inversion is DDIM's), not dpm++\n")
        x = try CLI.run(["interpolate", "a.emb", "a.emb", "--model", pipeline, "--decoder", "patch", "--invert", "-o", out], cwd: dir, env: env)
        XCTAssertEqual(x.status, 64)
        XCTAssertEqual(x.stderr, "unclip interpolate: --invert applies to the diffusion decoder only\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".png") }, [])
        // A text embedding and a photo interpolate from shared noise.
        x = try CLI.run(["interpolate", "a.emb", "t.emb", "--model", pipeline, "--frames", "2", "--steps", "2", "-o", out], cwd: dir, env: env)
        XCTAssertEqual(x.status, 0, x.stderr)
    }
}

/// inpaint on Kandinsky's inpainting decoder.
final class DiffusionInpaintCLITests: XCTestCase {
    let pipeline = Fixtures.path("diffusion/tiny-a")
    let photo = Fixtures.path("clip-images/kodim03-96x64.png")

    func env(_ dir: URL) -> [String: String] { ["XDG_CACHE_HOME": dir.path, "UNCLIP_MODEL": ""] }

    /// `inpaint --no-blend` inside the mask is KandinskyV22InpaintPipeline
    /// given the same embedding, negative embedding and x_T (the --embedding
    /// file's vector and latent); outside it the photo is untouched.
    func testInpaintInsideTheMaskMatchesKandinskyV22InpaintPipeline() throws {
        let dir = try CLI.tempDir(self)
        let ref = try SafeTensors(mappingFile: Fixtures.path("diffusion/tiny-a/reference.safetensors"))
        let p = try KandinskyPipeline(directory: URL(fileURLWithPath: pipeline))
        let shape = try ref.info("pipe_inpaint/image").shape   // [H, W, 3]
        let photo = Image(width: shape[1], height: shape[0], channels: 3, pixels: try ref.bytes("pipe_inpaint/image"))
        let maskValues = try ref.floats("pipe_inpaint/mask")
        let mask = Image(width: shape[1], height: shape[0], channels: 1, pixels: maskValues.map { $0 >= 0.5 ? 255 : 0 })
        try IO.write(try ImageCodec.encodePNG(photo), to: dir.appendingPathComponent("photo.png").path)
        try IO.write(try ImageCodec.encodePNG(mask), to: dir.appendingPathComponent("mask.png").path)
        let raw = try ref.floats("pipe_inpaint/image_embeds")
        let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let lshape = try ref.info("pipe_inpaint/latents").shape
        let record = EmbeddingFile(embedding: raw.map { $0 / norm }, exemplar: nil, kind: .image, model: p.modelName,
                                   modelHash: p.modelHash, source: "reference", sourceHash: "", resolution: 32, extra: [:],
                                   norm: norm, latent: .init(shape: Array(lshape.dropFirst()), values: try ref.floats("pipe_inpaint/latents")))
        try IO.write(record.serialize(), to: dir.appendingPathComponent("ref.emb").path)
        for blend in [false, true] {
            let out = dir.appendingPathComponent("out-\(blend).png")
            let r = try CLI.run(["inpaint", "photo.png", "--mask", "mask.png", "--embedding", "ref.emb", "--model", pipeline,
                                 "--scheduler", "ddim", "--steps", "5", "--guidance", "4", "-o", out.path] + (blend ? [] : ["--no-blend"]),
                                cwd: dir, env: env(dir))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stderr, "")
            let im = try ImageCodec.read(out.path).rgb()
            let want = try ref.bytes("pipe_inpaint/ddim/image_u8")
            var worst = 0, inside = 0, changedOutside = 0
            for i in 0..<photo.pixelCount {
                for c in 0..<3 {
                    let k = i * 3 + c
                    if maskValues[i] >= 0.5 {
                        if !blend { worst = max(worst, abs(Int(im.pixels[k]) - Int(want[k]))); inside += 1 }
                    } else if im.pixels[k] != photo.pixels[k] { changedOutside += 1 }
                }
            }
            XCTAssertEqual(changedOutside, 0, "every unmasked pixel is kept exactly")
            if !blend {
                print("inpaint CLI --no-blend: max \(worst) levels inside the mask (\(inside) values) against KandinskyV22InpaintPipeline")
                XCTAssertLessThanOrEqual(worst, 1)
                XCTAssertGreaterThan(inside, 500)
            }
            let png = try IO.read(out.path)
            XCTAssertEqual(EditFixtures.pngText(png, "unclip:decoder"), "diffusion")
            XCTAssertEqual(EditFixtures.pngText(png, "unclip:scheduler"), "ddim")
        }
        // A latent of another size is refused by name.
        let other = dir.appendingPathComponent("other.png")
        try IO.write(try ImageCodec.encodePNG(Image(width: 40, height: 32, channels: 3, fill: 90)), to: other.path)
        try IO.write(try ImageCodec.encodePNG(Image(width: 40, height: 32, channels: 1, fill: 255).cropped(columns: 0..<40, rows: 0..<32)), to: dir.appendingPathComponent("m2.png").path)
        var m2 = Image(width: 40, height: 32, channels: 1, fill: 0)
        for y in 8..<20 { for x in 8..<20 { m2.pixels[y * 40 + x] = 255 } }
        try IO.write(try ImageCodec.encodePNG(m2), to: dir.appendingPathComponent("m2.png").path)
        let bad = try CLI.run(["inpaint", other.path, "--mask", "m2.png", "--embedding", "ref.emb", "--model", pipeline, "-o", "x.png"],
                              cwd: dir, env: env(dir))
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "unclip inpaint: the embedding's latent is [4, 16, 24], but this fill works at 40x32 pixels, latent [4, 16, 20]\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.png").path))
    }

    func testAlphaMaskFromStdinPromptAndOutpaintingOnBothDecoders() throws {
        let dir = try CLI.tempDir(self)
        var cut = try ImageCodec.read(photo).rgb()
        var rgba = Image(width: cut.width, height: cut.height, channels: 4, fill: 255)
        for i in 0..<cut.pixelCount {
            for c in 0..<3 { rgba.pixels[i * 4 + c] = cut.pixels[i * 3 + c] }
            let (x, y) = (i % cut.width, i / cut.width)
            if (30..<60).contains(x) && (20..<44).contains(y) { rgba.pixels[i * 4 + 3] = 0 }
        }
        try IO.write(try ImageCodec.encodePNG(rgba), to: dir.appendingPathComponent("cut.png").path)
        let path = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path
        let r = try CLI.shell("""
            export XDG_CACHE_HOME='\(dir.path)' UNCLIP_MODEL='' PATH='\(path)':"$PATH"
            cat cut.png | unclip inpaint - --model '\(pipeline)' --steps 3 --prompt 'a red door' -o a.png
            cat cut.png | unclip inpaint - --model '\(pipeline)' --steps 3 --prompt 'a red door' -o b.png
            cat cut.png | unclip inpaint - --model '\(pipeline)' --steps 3 --seed 4 -n 2 --candidates 2 -o c-%d.png
            unclip inpaint '\(photo)' --model '\(pipeline)' --steps 3 --extend 16,8,32,0 -o wide.png
            unclip inpaint '\(photo)' --model '\(pipeline)' --decoder patch --extend 16,8,32,0 -o wide-patch.png
            """, cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        cut = try ImageCodec.read(photo).rgb()
        let a = try ImageCodec.read(dir.appendingPathComponent("a.png").path)
        XCTAssertEqual(a.channels, 3, "the alpha was the mask: the result is opaque")
        XCTAssertTrue(try a.pixels == ImageCodec.read(dir.appendingPathComponent("b.png").path).pixels, "deterministic")
        var outside = 0, inside = 0
        for i in 0..<cut.pixelCount {
            let hole = rgba.pixels[i * 4 + 3] == 0
            for c in 0..<3 where a.pixels[i * 3 + c] != cut.pixels[i * 3 + c] { if hole { inside += 1 } else { outside += 1 } }
        }
        XCTAssertEqual(outside, 0)
        XCTAssertGreaterThan(inside, 1000)
        let c0 = try ImageCodec.read(dir.appendingPathComponent("c-0.png").path), c1 = try ImageCodec.read(dir.appendingPathComponent("c-1.png").path)
        XCTAssertTrue(c0.pixels != c1.pixels)
        XCTAssertNotNil(EditFixtures.pngText(try IO.read(dir.appendingPathComponent("c-0.png").path), "unclip:clip-score"))
        for name in ["wide.png", "wide-patch.png"] {
            let wide = try ImageCodec.read(dir.appendingPathComponent(name).path).rgb()
            XCTAssertEqual([wide.width, wide.height], [96 + 48, 64 + 8], name)
            var moved = 0
            for y in 0..<64 { for x in 0..<96 { for c in 0..<3 where wide.pixels[((y + 8) * wide.width + x + 16) * 3 + c] != cut.pixels[(y * 96 + x) * 3 + c] { moved += 1 } } }
            XCTAssertEqual(moved, 0, "\(name): the photo is kept exactly inside the larger canvas")
            XCTAssertEqual(EditFixtures.pngText(try IO.read(dir.appendingPathComponent(name).path), "unclip:decoder"), name == "wide.png" ? "diffusion" : "patch")
        }
    }

    func testBadExtendAndMasksAreOneLineAndLeaveNoFile() throws {
        let dir = try CLI.tempDir(self)
        let out = dir.appendingPathComponent("out.png")
        for (args, status, message) in [
            (["--extend", "300,0,0,0"], Int32(64), "unclip inpaint: --extend 300,0,0,0: at most twice the image's size can be added on each axis (192 pixels across, 128 down), so that the photo stays a third of the result\n"),
            (["--extend", "1,2,3"], 64, "Error: --extend 1,2,3: expected LEFT,TOP,RIGHT,BOTTOM in pixels, e.g. 0,0,256,0\n"),
            (["--extend", "0,0,0,0"], 64, "unclip inpaint: --extend 0,0,0,0: give four pixel counts, at least one above 0\n"),
            ([], 64, "unclip inpaint: \(photo): no --mask given and the image has no alpha channel to use as one\n"),
        ] {
            let r = try CLI.run(["inpaint", photo, "--model", pipeline, "-o", out.path] + args, env: env(dir))
            XCTAssertEqual(r.status, status, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix(message), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
    }
}
