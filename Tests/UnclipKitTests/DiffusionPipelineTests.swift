import Foundation
import XCTest
import UnclipKit

/// A pipeline folder as one model: its CLIP (encode) and the sampling that
/// vary and decode run, against transformers and diffusers on the tiny
/// pipelines (Fixtures/reference/make_diffusion_fixtures.py).
final class DiffusionPipelineTests: XCTestCase {
    typealias F = DiffusionFixtures

    func image(_ ref: F.Reference, _ key: String) throws -> Image {
        let shape = try ref.shape(key)   // [H, W, 3]
        return Image(width: shape[1], height: shape[0], channels: 3, pixels: try ref.bytes(key))
    }

    func testPipelineFolderEncodesImagesAndCaptionsAsTransformersDoes() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let p = try KandinskyPipeline(directory: F.url(name))
            XCTAssertTrue(KandinskyPipeline.isPipeline(F.url(name)))
            let z = try p.embedKeepingNorms(images: [image(ref, "encode/image")])[0]
            F.assertClose(z.vector.map { $0 * z.norm! }, try ref.floats("encode/image_embeds"), "\(name) encode image", tolerance: 1e-5)
            let captions = try JSONDecoder().decode([String].self, from: Data(ref.meta("encode/captions")!.utf8))
            let tok = try p.tokenizer()
            let texts = try p.embedKeepingNorms(texts: captions)
            for (i, c) in captions.enumerated() {
                XCTAssertEqual(tok.encode(c), try ref.ints("encode/input_ids.\(i)"), "\(name) tokens of \(c)")
                F.assertClose(texts[i].vector.map { $0 * texts[i].norm! }, try ref.floats("encode/text_embeds.\(i)"),
                              "\(name) encode text \(i)", tolerance: 1e-5)
            }
        }
    }

    /// `vary --strength` runs `KandinskyDecoder.imageToImage`: replayed with
    /// the pipeline's own noise draws, it is KandinskyV22Img2ImgPipeline.
    func testImageToImageMatchesKandinskyV22Img2ImgPipeline() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let p = try KandinskyPipeline(directory: F.url(name))
            let dec = try p.decoder()
            let photo = try image(ref, "pipe_img2img/image")
            let strength = try ref.floats("pipe_img2img/strength")[0]
            let steps = Int(ref.meta("pipe/steps")!)!, guidance = Float(ref.meta("pipe/guidance")!)!
            let x0 = dec.encode(pixels: photo.pixels, height: photo.height, width: photo.width)
            for s in ["ddpm", "ddim"] {
                let prefix = "pipe_img2img/\(s)"
                F.assertClose(x0.latents, try ref.floats("\(prefix)/image_latents"), "\(name) img2img \(s) image latents")
                let scheduler = try Schedulers.make(dec.schedulerConfig, kind: SchedulerKind(rawValue: s)!)
                let noise = F.RecordedNoise(ref, prefix: "\(prefix)/noise")
                let z = try dec.imageToImage(imageLatents: x0.latents, noise: try ref.floats("\(prefix)/noise"), strength: strength,
                                             height: x0.height, width: x0.width, embed: try ref.floats("pipe_img2img/image_embeds"),
                                             negative: try ref.floats("pipe_img2img/negative_image_embeds"), steps: steps,
                                             guidance: guidance, scheduler: scheduler, stepNoise: noise.draw)
                XCTAssertEqual(scheduler.timesteps, try ref.ints("\(prefix)/timesteps"), "\(name) \(s) timesteps")
                XCTAssertEqual(KandinskyDecoder.firstStep(steps: steps, strength: strength), 2, "0.6 of 5 steps runs the last 3")
                F.assertClose(z, try ref.floats("\(prefix)/latents_final"), "\(name) img2img \(s) latents", tolerance: 1e-3)
                F.assertImage(dec.decodeToUnit(z, height: x0.height, width: x0.width), try ref.floats("\(prefix)/image"), "\(name) img2img \(s)")
            }
            // The whole public path `vary` takes (negative from the pipeline's own
            // image encoder, the photo resized to the latent's size, 8-bit output).
            var settings = DiffusionSettings()
            settings.scheduler = .ddim; settings.steps = steps; settings.guidance = guidance
            let shape = try ref.shape("pipe_img2img/ddim/noise")
            let out = try p.sample(embed: try ref.floats("pipe_img2img/image_embeds"),
                                   latent: .init(shape: Array(shape.dropFirst()), values: try ref.floats("pipe_img2img/ddim/noise")),
                                   image: photo, strength: strength, settings: settings, seed: 0)
            assertPixels(out, try ref.bytes("pipe_img2img/ddim/image_u8"), "\(name) sample img2img ddim")
        }
    }

    func testSampleFromALatentIsKandinskyV22Pipeline() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let p = try KandinskyPipeline(directory: F.url(name))
            F.assertClose(try p.negativeEmbedding(), try ref.floats("pipe/negative_image_embeds"), "\(name) negative", tolerance: 1e-5)
            for s in ["ddim", "dpmpp"] {
                var settings = DiffusionSettings()
                settings.scheduler = s == "ddim" ? .ddim : .dpmpp
                settings.steps = Int(ref.meta("pipe/steps")!)!; settings.guidance = Float(ref.meta("pipe/guidance")!)!
                let shape = try ref.shape("pipe/latents")
                let out = try p.sample(embed: try ref.floats("pipe/image_embeds"),
                                       latent: .init(shape: Array(shape.dropFirst()), values: try ref.floats("pipe/latents")),
                                       settings: settings, seed: 0)
                assertPixels(out, try ref.bytes("pipe/\(s)/image_u8"), "\(name) sample \(s)")
            }
        }
    }

    func assertPixels(_ ours: Image, _ ref: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.pixels.count, ref.count, label, file: file, line: line)
        var worst = 0, within = 0
        for (a, b) in zip(ours.pixels, ref) { let d = abs(Int(a) - Int(b)); worst = max(worst, d); if d <= 1 { within += 1 } }
        print("pixels \(label): max \(worst) levels, \(within)/\(ref.count) within 1")
        XCTAssertLessThanOrEqual(worst, 1, label, file: file, line: line)
    }

    func testOutputSizeKeepsTheAspectAtTheNativeAreaAndRefusesOddSizes() throws {
        let p = try KandinskyPipeline(directory: F.url("tiny-a"))   // native 16 latents × 2 = 32 px, multiples of 4
        var s = DiffusionSettings()
        XCTAssertTrue(try p.outputSize(s, aspect: 1) == (32, 32))
        XCTAssertTrue(try p.outputSize(s, aspect: 1.5) == (40, 28))
        XCTAssertTrue(try p.outputSize(s, aspect: 1 / 1.5) == (28, 40))
        XCTAssertTrue(try p.outputSize(s, aspect: 1000) == (1012, 4))
        s.width = 48; s.height = 32
        XCTAssertTrue(try p.outputSize(s, aspect: 3) == (48, 32))
        s.width = 50
        XCTAssertThrowsError(try p.outputSize(s, aspect: 1)) {
            XCTAssertEqual(($0 as? UnclipError)?.description, "--size 50x32: width and height must be positive multiples of 4 for this decoder")
        }
        // A latent fixes the size; a different --size is refused.
        let latent = try p.initialLatent(seed: 1, width: 48, height: 32)
        XCTAssertEqual(latent.shape, [4, 16, 24])
        XCTAssertNotEqual(latent.values, try p.initialLatent(seed: 2, width: 48, height: 32).values)
        XCTAssertEqual(latent.values, try p.initialLatent(seed: 1, width: 48, height: 32).values)
        s.width = 32; s.height = 32
        XCTAssertThrowsError(try p.sample(embed: [Float](repeating: 0.5, count: 24), latent: latent, settings: s, seed: 0)) {
            XCTAssertTrue("\($0)".contains("--size 32x32 differs from the 48x32 of the embedding's latent"), "\($0)")
        }
    }

    func testDecoderChoiceFollowsTheEmbeddingsModel() throws {
        let p = try KandinskyPipeline(directory: F.url("tiny-a"))
        let other = try KandinskyPipeline(directory: F.url("tiny-b"))
        let image = Image(width: 48, height: 32, channels: 3, fill: 128)
        let own = EmbeddingFile(embedding: try p.embed(images: [image])[0], exemplar: image, kind: .image, model: p.modelName,
                                modelHash: p.modelHash, source: "x", sourceHash: "", resolution: 32, extra: [:], norm: 3)
        var foreign = own
        foreign.model = "tiny-b"; foreign.modelHash = other.modelHash
        XCTAssertEqual(try DecoderChoice.choose(nil, model: p, records: [("a.emb", own)]).kind, .diffusion)
        XCTAssertEqual(try DecoderChoice.choose(.patch, model: p, records: [("a.emb", own)]).kind, .patch)
        let fallback = try DecoderChoice.choose(nil, model: p, records: [("b.emb", foreign)])
        XCTAssertEqual(fallback.kind, .patch)
        XCTAssertTrue(fallback.note!.contains("b.emb was made with tiny-b, not tiny-a's CLIP"), fallback.note!)
        XCTAssertThrowsError(try DecoderChoice.choose(.diffusion, model: p, records: [("b.emb", foreign)])) {
            let e = $0 as! UnclipError
            XCTAssertTrue(e.isUsage)
            XCTAssertTrue(e.description.hasPrefix("b.emb was made with tiny-b ("), e.description)
            XCTAssertTrue(e.description.contains("re-encode the image with --model tiny-a"), e.description)
        }
        XCTAssertThrowsError(try DecoderChoice.choose(.diffusion, model: StatisticEmbedder(), records: [("a.emb", own)])) {
            XCTAssertTrue("\($0)".contains("no diffusion decoder installed: run `unclip model pull kandinsky-2.2`"), "\($0)")
        }
        // Inpainting needs its own component.
        XCTAssertEqual(try DecoderChoice.choose(nil, model: p, records: [("a.emb", own)], component: .inpaint).kind, .diffusion)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unclip-choice-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for part in ["prior", "decoder"] { try FileManager.default.copyItem(at: F.url("tiny-a", part), to: dir.appendingPathComponent(part)) }
        let partial = try KandinskyPipeline(directory: dir)
        let noInpaint = try DecoderChoice.choose(nil, model: partial, records: [], component: .inpaint)
        XCTAssertEqual(noInpaint.kind, .patch)
        XCTAssertEqual(noInpaint.note, "\(dir.lastPathComponent) has no decoder-inpaint/: using the patch decoder (`unclip model pull kandinsky-2.2 --only inpaint` adds it)")
    }
}

extension DiffusionPipelineTests {
    func testInvertedInterpolationStartsEachEndFromItsPhotosInversion() throws {
        let p = try KandinskyPipeline(directory: F.url("tiny-a"))
        let ref = try F.reference("tiny-a")
        let photoA = try image(ref, "encode/image"), photoB = try image(ref, "pipe_img2img/image")
        func record(_ im: Image) throws -> EmbeddingFile {
            let z = try p.embedKeepingNorms(images: [im])[0]
            return EmbeddingFile(embedding: z.vector, exemplar: im, kind: .image, model: p.modelName, modelHash: p.modelHash,
                                 source: "x", sourceHash: "", resolution: 32, extra: [:], norm: z.norm)
        }
        let a = try record(photoA), b = try record(photoB)
        var s = DiffusionSettings()
        s.scheduler = .ddim; s.guidance = 1; s.steps = 3; s.width = 24; s.height = 16
        let frames = try p.interpolate(a, b, names: ("a", "b"), exemplars: (photoA, photoB), thetas: [0, 0.5, 1], inverted: true,
                                       settings: s, seed: 0, render: false)
        let la = try p.invert(photoA, embed: p.conditioning(a, name: "a"), width: 24, height: 16, steps: 3)
        let lb = try p.invert(photoB, embed: p.conditioning(b, name: "b"), width: 24, height: 16, steps: 3)
        XCTAssertEqual(la.shape, [4, 8, 12])
        XCTAssertEqual(frames[0].latent, la)
        XCTAssertEqual(frames[2].latent, lb)
        XCTAssertNotEqual(frames[1].latent, la)
        XCTAssertEqual(frames[0].norm, a.norm)
        XCTAssertEqual(frames[2].norm, b.norm)
        XCTAssertEqual(frames[1].norm, (a.norm! + b.norm!) / 2, accuracy: 1e-5)
        // The middle latent lies on the arc: its length between the ends' lengths.
        let n = { (l: EmbeddingFile.Latent) in Slerp.norm(l.values) }
        XCTAssertTrue(n(frames[1].latent) > min(n(la), n(lb)) - 1e-3 && n(frames[1].latent) < max(n(la), n(lb)) + 1e-3)
    }
}

extension DiffusionPipelineTests {
    /// A work region larger than the working size is filled there and
    /// brought back to full size by guided patch synthesis (tested on its
    /// own in PatchSynthesisTests); the photo outside the hole stays exact.
    func testScaledDownWorkRegionIsFilledAndBroughtBackToFullSize() throws {
        let p = try KandinskyPipeline(directory: F.url("tiny-a"))
        let photo = try ImageCodec.read(KitFixtures.root.appendingPathComponent("clip-images/kodim03-96x64.png").path).rgb()
        var mask = [Float](repeating: 0, count: photo.pixelCount)
        for y in 16..<48 { for x in 24..<72 { mask[y * 96 + x] = 1 } }
        let z = try p.embedKeepingNorms(images: [photo])[0]
        var s = DiffusionSettings()
        s.steps = 2
        XCTAssertTrue(try p.workSize(width: 96, height: 64, side: 48) == (48, 32, 0.5))
        let out = try p.inpaint(photo, mask: mask, embed: z.vector.map { $0 * z.norm! }, latent: nil, settings: s, seed: 1,
                                seamless: true, synthesis: .inpainting, workSide: 48)
        XCTAssertEqual([out.width, out.height], [96, 64])
        var changedOutside = 0, changedInside = 0
        for i in 0..<photo.pixelCount {
            for c in 0..<3 where out.pixels[i * 3 + c] != photo.pixels[i * 3 + c] { if mask[i] == 0 { changedOutside += 1 } else { changedInside += 1 } }
        }
        XCTAssertEqual(changedOutside, 0)
        XCTAssertGreaterThan(changedInside, 3000)
    }
}
