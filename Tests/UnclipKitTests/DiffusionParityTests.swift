import Foundation
import XCTest
import UnclipKit

/// The Swift UNet, MoVQ, schedulers and decoding loop against diffusers on
/// the tiny random checkpoints (Fixtures/reference/make_diffusion_fixtures.py),
/// which differ in widths, depths, head sizes, levels and stored types.
final class DiffusionParityTests: XCTestCase {
    typealias F = DiffusionFixtures

    func testUNetBlocksAndOutputMatchDiffusersAtEveryTimestep() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let unet = try UNet2DConditionModel(directory: F.url(name, "decoder/unet"))
            let sample = try ref.tensor("unet/sample"), embeds = try ref.tensor("unet/image_embeds")
            let ts = try ref.ints("unet/timesteps")
            var traced: [String: Tensor] = [:]
            for (k, t) in ts.enumerated() {
                let out = unet(sample, timestep: Float(t), imageEmbeds: embeds, trace: k == 0 ? { traced[$0] = $1 } : nil)
                XCTAssertEqual(out.shape, try ref.shape("unet/out.\(t)"))
                F.assertClose(out.toArray(), try ref.floats("unet/out.\(t)"), "\(name) unet t=\(t)")
            }
            // Each block's output at the first timestep, for the whole batch.
            var checked = 0
            for (key, batch) in traced.sorted(by: { $0.key < $1.key }) where ref.has("unet/\(key)") {
                F.assertClose(batch.toArray(), try ref.floats("unet/\(key)"), "\(name) unet \(key)")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 4 + 3 * unet.config.levels, "\(name): too few blocks compared")
        }
    }

    func testInpaintingUNetTakesNineChannels() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let unet = try UNet2DConditionModel(directory: F.url(name, "decoder-inpaint/unet"))
            XCTAssertEqual(unet.config.inChannels, 9)
            let sample = try ref.tensor("inpaint_unet/sample"), embeds = try ref.tensor("inpaint_unet/image_embeds")
            for t in try ref.ints("inpaint_unet/timesteps") {
                F.assertClose(unet(sample, timestep: Float(t), imageEmbeds: embeds).toArray(),
                              try ref.floats("inpaint_unet/out.\(t)"), "\(name) inpaint unet t=\(t)")
            }
        }
    }

    /// The fixtures' images are too small for the Winograd path's default
    /// threshold, so the whole UNet, MoVQ and pipeline checks run again with
    /// every 3×3 convolution taking it.
    func testEverythingAgainWithWinogradConvolutions() throws {
        let old = Conv2d.winogradMinTiles
        Conv2d.winogradMinTiles = 0
        defer { Conv2d.winogradMinTiles = old }
        try testUNetBlocksAndOutputMatchDiffusersAtEveryTimestep()
        try testInpaintingUNetTakesNineChannels()
        try testMoVQEncodeAndDecodeMatchDiffusers()
        try testWholeDecoderPipelineMatchesKandinskyV22Pipeline()
        try testInpaintingPipelineMatchesKandinskyV22InpaintPipeline()
    }

    func testMoVQEncodeAndDecodeMatchDiffusers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let movq = try MoVQ(directory: F.url(name, "decoder/movq"))
            let enc = movq.encode(try ref.tensor("movq/encode.in"))
            XCTAssertEqual(enc.shape, try ref.shape("movq/encode.out"))
            F.assertClose(enc.toArray(), try ref.floats("movq/encode.out"), "\(name) movq encode")
            let dec = movq.decode(try ref.tensor("movq/decode.in"))
            XCTAssertEqual(dec.shape, try ref.shape("movq/decode.out"))
            F.assertClose(dec.toArray(), try ref.floats("movq/decode.out"), "\(name) movq decode")
        }
    }

    func testSchedulerTimestepsAndStepsMatchDiffusers() throws {
        let ref = try F.reference("tiny-a")
        let config = try DiffusersConfig.load(F.url("tiny-a", "decoder/scheduler/scheduler_config.json"))
        let kinds: [(String, SchedulerKind?)] = [("ddpm", nil), ("ddim", .ddim), ("dpmpp", .dpmpp)]
        for (key, kind) in kinds {
            for n in [5, 25] {
                let p = "sched/\(key)/n\(n)"
                let s = try Schedulers.make(config, kind: kind)
                try s.setTimesteps(n)
                XCTAssertEqual(s.timesteps, try ref.ints("\(p)/timesteps"), "\(p) timesteps")
                var x = try ref.floats("\(p)/sample.0")
                let noise = F.RecordedNoise(ref, prefix: "\(p)/noise")
                var worst: Float = 0, scale: Float = 0
                for (i, t) in s.timesteps.enumerated() {
                    x = s.step(try ref.floats("\(p)/model_output.\(i)"), timestep: t, sample: x, noise: noise.draw)
                    let want = try ref.floats("\(p)/sample.\(i + 1)")
                    // Relative to each step's own scale: x̂₀ at high noise is ~15× the network's output, where float's ulp alone is 1e-6.
                    let s = max(want.map(abs).max() ?? 1, 1)
                    for (a, b) in zip(x, want) { worst = max(worst, abs(a - b) / s) }
                    scale = max(scale, s)
                    x = want   // each step from the reference's own input
                }
                print(String(format: "scheduler %@: max |diff| / max(1, |x|) %.2e over %d steps (largest |x| %.3g)", p, worst, n, scale))
                XCTAssertLessThanOrEqual(worst, 1e-5, "\(p)")
            }
        }
    }

    func testDDIMInverseSchedulerMatchesDiffusers() throws {
        let ref = try F.reference("tiny-a")
        let config = try DiffusersConfig.load(F.url("tiny-a", "decoder/scheduler/scheduler_config.json"))
        for n in [5, 25] {
            let p = "sched/ddim_inverse/n\(n)"
            let s = try DDIMScheduler.inverse(config)
            try s.setTimesteps(n)
            XCTAssertEqual(s.timesteps, try ref.ints("\(p)/timesteps"), "\(p) timesteps")
            var worst: Float = 0
            for (i, t) in s.timesteps.enumerated() {
                let x = s.step(try ref.floats("\(p)/model_output.\(i)"), timestep: t, sample: try ref.floats("\(p)/sample.\(i)"))
                for (a, b) in zip(x, try ref.floats("\(p)/sample.\(i + 1)")) { worst = max(worst, abs(a - b)) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(p)")
        }
    }

    func testAddNoiseMatchesDiffusers() throws {
        let ref = try F.reference("tiny-a")
        let config = try DiffusersConfig.load(F.url("tiny-a", "decoder/scheduler/scheduler_config.json"))
        let s = try Schedulers.make(config)
        let x0 = try ref.floats("sched/ddpm/add_noise.in"), eps = try ref.floats("sched/ddpm/add_noise.noise")
        let ts = try ref.ints("sched/ddpm/add_noise.t"), want = try ref.floats("sched/ddpm/add_noise.out")
        let per = x0.count / ts.count
        for (b, t) in ts.enumerated() {
            let r = (b * per)..<((b + 1) * per)
            let got = s.schedule.addNoise(Array(x0[r]), noise: Array(eps[r]), timestep: t)
            for (a, w) in zip(got, want[r]) { XCTAssertEqual(a, w, accuracy: 1e-5) }
        }
    }

    func testWholeDecoderPipelineMatchesKandinskyV22Pipeline() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let decoder = try KandinskyDecoder(directory: F.url(name, "decoder"))
            let start = try ref.floats("pipe/latents"), shape = try ref.shape("pipe/latents")
            let (h, w) = (shape[2], shape[3])
            let steps = Int(ref.meta("pipe/steps") ?? "5") ?? 5, guidance = Float(ref.meta("pipe/guidance") ?? "4") ?? 4
            for (key, kind) in [("ddpm", nil), ("ddim", SchedulerKind.ddim), ("dpmpp", .dpmpp)] as [(String, SchedulerKind?)] {
                let scheduler = try Schedulers.make(decoder.schedulerConfig, kind: kind)
                let noise = F.RecordedNoise(ref, prefix: "pipe/\(key)/noise")
                let latents = try decoder.denoise(latents: start, height: h, width: w, embed: try ref.floats("pipe/image_embeds"),
                                                  negative: try ref.floats("pipe/negative_image_embeds"), steps: steps,
                                                  guidance: guidance, scheduler: scheduler, noise: noise.draw)
                F.assertClose(latents, try ref.floats("pipe/\(key)/latents_final"), "\(name) pipeline \(key) latents", tolerance: 1e-3)
                let image = decoder.decodeToUnit(latents, height: h, width: w)
                F.assertImage(image, try ref.floats("pipe/\(key)/image"), "\(name) \(key)")
            }
        }
    }

    func testSingleTowerImageEncoderAndZeroEmbeddingMatchTransformers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let enc = try CLIPImageEncoder(directory: F.url(name, "prior/image_encoder"))
            let shape = try ref.shape("image_encoder/pixel_values")
            let ours = try enc.embed(pixels: try ref.floats("image_encoder/pixel_values"), count: shape[0])
            F.assertClose(ours.flatMap { $0 }, try ref.floats("image_encoder/image_embeds"), "\(name) image_encoder")
            F.assertClose(try enc.zeroEmbedding(), try ref.floats("zero_embed/image_embeds"), "\(name) zero embedding")
            // Raw, not unit length: the decoder is conditioned on the unnormalised vector.
            let norm = ours[0].reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertGreaterThan(abs(norm - 1), 1e-3)
        }
    }

    func testSingleTowerTextEncoderMatchesTransformers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let enc = try CLIPTextEncoder(directory: F.url(name, "prior/text_encoder"))
            let shape = try ref.shape("text_encoder/input_ids")
            let all = try ref.ints("text_encoder/input_ids")
            let padded = (0..<shape[0]).map { Array(all[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
            let lengths = try JSONSerialization.jsonObject(with: Data(ref.meta("text_encoder/lengths")!.utf8)) as! [Int]
            let want = try ref.floats("text_encoder/text_embeds")
            // EOS-padded as the reference ran them, and cut to their lengths as a tokenizer gives them.
            F.assertClose(try enc.embed(tokenIDs: padded).flatMap { $0 }, want, "\(name) text_encoder")
            F.assertClose(try enc.embed(tokenIDs: zip(padded, lengths).map { Array($0.prefix($1)) }).flatMap { $0 }, want,
                          "\(name) text_encoder unpadded")
        }
        XCTAssertThrowsError(try CLIPTextEncoder(directory: F.url("tiny-a", "prior/image_encoder"))) {
            XCTAssertTrue("\($0)".contains("not a CLIPTextModelWithProjection"), "\($0)")
        }
    }

    func testSingleTowersAndTwoTowerModelsAreNotConfused() throws {
        XCTAssertThrowsError(try CLIPModel(directory: F.url("tiny-a", "prior/image_encoder"))) {
            XCTAssertTrue("\($0)".contains("single CLIP vision tower"), "\($0)")
        }
        XCTAssertThrowsError(try CLIPImageEncoder(directory: CLIPModelFixtures.url("clip/tiny-gelu"))) {
            XCTAssertTrue("\($0)".contains("not a CLIPVisionModelWithProjection"), "\($0)")
        }
    }

    func testInpaintingPipelineMatchesKandinskyV22InpaintPipeline() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let decoder = try KandinskyDecoder(directory: F.url(name, "decoder-inpaint"))
            let shape = try ref.shape("pipe_inpaint/image")
            let input = try decoder.inpaintingInput(pixels: try ref.bytes("pipe_inpaint/image"), mask: try ref.floats("pipe_inpaint/mask"),
                                                    height: shape[0], width: shape[1])
            F.assertClose(input.imageLatents, try ref.floats("pipe_inpaint/image_latents"), "\(name) inpaint image latents")
            XCTAssertEqual(input.keep, try ref.floats("pipe_inpaint/mask_latent"), "\(name): the latent mask, after prepare_mask")
            for (key, kind) in [("ddpm", nil), ("ddim", SchedulerKind.ddim)] as [(String, SchedulerKind?)] {
                let scheduler = try Schedulers.make(decoder.schedulerConfig, kind: kind)
                let noise = F.RecordedNoise(ref, prefix: "pipe_inpaint/\(key)/noise")
                let latents = try decoder.inpaint(input, latents: try ref.floats("pipe_inpaint/latents"),
                                                  embed: try ref.floats("pipe_inpaint/image_embeds"),
                                                  negative: try ref.floats("pipe_inpaint/negative_image_embeds"),
                                                  steps: 5, guidance: 4, scheduler: scheduler, noise: noise.draw)
                F.assertClose(latents, try ref.floats("pipe_inpaint/\(key)/latents_final"), "\(name) inpaint \(key) latents", tolerance: 1e-3)
                F.assertImage(decoder.decodeToUnit(latents, height: input.height, width: input.width),
                              try ref.floats("pipe_inpaint/\(key)/image"), "\(name) inpaint \(key)")
            }
        }
    }

    func testDDIMInversionWithTheUNetMatchesDiffusers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let decoder = try KandinskyDecoder(directory: F.url(name, "decoder"))
            let z = decoder.movq.encode(try ref.tensor("invert/pixels"))
            F.assertClose(z.toArray(), try ref.floats("invert/latents"), "\(name) inversion start latents")
            let xT = try decoder.invert(latents: try ref.floats("invert/latents"), height: z.shape[2], width: z.shape[3],
                                        embed: try ref.floats("invert/image_embeds"), steps: 5)
            F.assertClose(xT, try ref.floats("invert/xT"), "\(name) DDIM-inverted x_T")
        }
    }
}
