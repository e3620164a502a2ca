import Foundation
import XCTest
import UnclipKit

/// The prior (PriorTransformer, UnCLIPScheduler, KandinskyV22PriorPipeline)
/// against diffusers on the tiny pipelines' random priors
/// (Fixtures/reference/make_diffusion_fixtures.py, prior_reference and
/// prior_pipeline_reference).
final class PriorTests: XCTestCase {
    typealias F = DiffusionFixtures
    let prefixes = ["pipe_prior", "pipe_prior_long", "pipe_prior_empty"]

    func testPriorTransformerMatchesDiffusers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let prior = try PriorTransformer(directory: F.url(name, "prior/prior"))
            let d = prior.config.embeddingDim, n = prior.config.textTokens
            let x = try ref.floats("prior_forward/hidden_states"), proj = try ref.floats("prior_forward/proj_embedding")
            let states = try ref.floats("prior_forward/encoder_hidden_states"), mask = try ref.ints("prior_forward/attention_mask")
            let text = (0..<2).map { b -> PriorTransformer.TextCondition in
                let L = mask[(b * n)..<((b + 1) * n)].reduce(0, +)   // the mask is a prefix of real tokens
                return .init(embedding: Array(proj[(b * d)..<((b + 1) * d)]),
                             states: Tensor(shape: [L, d], values: Array(states[(b * n * d)..<((b * n + L) * d)])))
            }
            XCTAssertEqual(text.map { $0.states.rows }, [16, 5])
            let timesteps = try JSONDecoder().decode([Int].self, from: Data(ref.meta("prior_forward/timesteps")!.utf8))
            for t in timesteps {
                let out = try prior([Array(x[0..<d]), Array(x[d...])], timestep: t, text: text)
                F.assertClose(out.flatMap { $0 }, try ref.floats("prior_forward/out.\(t)"), "\(name) prior t=\(t)")
            }
        }
    }

    /// Each recorded step of the pipeline, replayed on the scheduler alone.
    func testUnCLIPSchedulerStepsAsDiffusers() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let config = try DiffusersConfig.load(F.url(name, "prior/scheduler/scheduler_config.json"))
            let s = try Schedulers.make(config)
            XCTAssertTrue(s is UnCLIPScheduler)
            try s.setTimesteps(25)
            XCTAssertEqual(s.timesteps, try ref.ints("prior_sched/timesteps.n25"))
            for p in prefixes {
                try s.setTimesteps(5)
                XCTAssertEqual(s.timesteps, try ref.ints("\(p)/timesteps"))
                let noise = F.RecordedNoise(ref, prefix: "\(p)/noise")
                for (i, t) in s.timesteps.enumerated() {
                    let next = s.step(try ref.floats("\(p)/model_output.\(i)"), timestep: t, sample: try ref.floats("\(p)/sample.\(i)"),
                                      noise: noise.draw)
                    F.assertClose(next, try ref.floats("\(p)/latents.\(i)"), "\(name) \(p) step \(i)", tolerance: 1e-5)
                }
                XCTAssertEqual(noise.next, 4, "no noise at t = 0")
            }
            XCTAssertThrowsError(try s.setTimesteps(1))
        }
    }

    /// Captions through the pipeline's tokenizer, text encoder and prior,
    /// from the recorded x_T and noise: every step within 1e-4, the
    /// embedding at cosine ≥ 0.99999. Covers guidance, the empty caption
    /// without guidance, and a caption cut at the encoder's length.
    func testPriorPipelineMatchesKandinskyV22PriorPipeline() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let p = try KandinskyPipeline(directory: F.url(name))
            for prefix in prefixes {
                let caption = ref.meta("\(prefix)/caption")!
                let (cond, truncated) = try p.priorCondition(caption)
                XCTAssertEqual(truncated, prefix == "pipe_prior_long", prefix)
                let ids = try p.tokenizer().encode(caption), padded = try ref.ints("\(prefix)/input_ids")
                XCTAssertEqual(ids, Array(padded.prefix(ids.count)), "\(name) \(prefix) tokens")
                XCTAssertTrue(padded.dropFirst(ids.count).allSatisfy { $0 == ids.last }, "padded with EOS")
                var settings = PriorSettings()
                settings.steps = 5
                settings.guidance = try ref.floats("\(prefix)/guidance_scale")[0]
                let noise = F.RecordedNoise(ref, prefix: "\(prefix)/noise")
                var seen = 0
                let z = try p.priorEmbedding(condition: cond, unconditional: p.priorCondition("").condition, settings: settings,
                                             initial: try ref.floats("\(prefix)/latents"), noise: noise.draw, trace: { i, _, out, next in
                    F.assertClose(out, (try? ref.floats("\(prefix)/model_output.\(i)")) ?? [], "\(name) \(prefix) output \(i)")
                    F.assertClose(next, (try? ref.floats("\(prefix)/latents.\(i)")) ?? [], "\(name) \(prefix) step \(i)")
                    seen += 1
                })
                XCTAssertEqual(seen, 5)
                let want = try ref.floats("\(prefix)/image_embeds")
                F.assertClose(z, want, "\(name) \(prefix) image embedding")
                let cos = zip(z, want).map(*).reduce(0, +) / (norm(z) * norm(want))
                XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(name) \(prefix)")
                F.assertClose(try p.negativeEmbedding(), try ref.floats("\(prefix)/negative_image_embeds"), "\(name) negative", tolerance: 1e-5)
            }
        }
    }

    func norm(_ v: [Float]) -> Float { v.map { $0 * $0 }.reduce(0, +).squareRoot() }

    /// Caption → prior → decoder: the pixels of KandinskyV22PriorPipeline
    /// followed by KandinskyV22Pipeline (DDIM), within one level.
    func testTextToImageEndToEnd() throws {
        for name in F.pipelines {
            let ref = try F.reference(name)
            let p = try KandinskyPipeline(directory: F.url(name))
            var ps = PriorSettings()
            ps.steps = 5
            let noise = F.RecordedNoise(ref, prefix: "pipe_prior/noise")
            let z = try p.priorEmbedding(condition: p.priorCondition(ref.meta("pipe_prior/caption")!).condition,
                                         unconditional: p.priorCondition("").condition, settings: ps,
                                         initial: try ref.floats("pipe_prior/latents"), noise: noise.draw)
            var settings = DiffusionSettings()
            settings.scheduler = .ddim; settings.steps = 5; settings.guidance = 4
            let shape = try ref.shape("pipe_t2i/latents")
            let im = try p.sample(embed: z, latent: .init(shape: Array(shape.dropFirst()), values: try ref.floats("pipe_t2i/latents")),
                                  settings: settings, seed: 0)
            let want = try ref.bytes("pipe_t2i/image_u8")
            XCTAssertEqual(im.pixels.count, want.count)
            let worst = zip(im.pixels, want).map { abs(Int($0) - Int($1)) }.max() ?? 99
            print("text to image \(name): max \(worst) levels")
            XCTAssertLessThanOrEqual(worst, 1, name)
        }
    }

    /// A seeded run is reproducible, and different seeds and captions differ.
    func testSeededPriorIsDeterministic() throws {
        let p = try KandinskyPipeline(directory: F.url("tiny-a"))
        var s = PriorSettings()
        s.steps = 4
        let a = try p.priorEmbedding(caption: "a cat", settings: s, seed: 1)
        XCTAssertEqual(a, try p.priorEmbedding(caption: "a cat", settings: s, seed: 1))
        XCTAssertNotEqual(a, try p.priorEmbedding(caption: "a cat", settings: s, seed: 2))
        XCTAssertNotEqual(a, try p.priorEmbedding(caption: "a dog", settings: s, seed: 1))
        s.steps = 1
        XCTAssertThrowsError(try p.priorEmbedding(caption: "a cat", settings: s, seed: 1))
    }

    /// No prior, and a prior whose output the decoder cannot read: errors that say what to do.
    func testMissingOrMismatchedPriorIsNamed() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("unclip-prior-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: dir) }
        let none = dir.appendingPathComponent("none"), mixed = dir.appendingPathComponent("mixed")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        try fm.copyItem(at: F.url("tiny-a"), to: none)
        try fm.removeItem(at: none.appendingPathComponent("prior/prior"))
        XCTAssertThrowsError(try KandinskyPipeline(directory: none).prior()) { e in
            XCTAssertEqual("\(e)", "\(none.path)/prior: no prior/, needed by the prior: run `unclip model pull kandinsky-2.2 --only prior`")
        }
        try fm.copyItem(at: F.url("tiny-a"), to: mixed)
        try fm.removeItem(at: mixed.appendingPathComponent("decoder"))
        try fm.copyItem(at: F.url("tiny-b", "decoder"), to: mixed.appendingPathComponent("decoder"))
        XCTAssertThrowsError(try KandinskyPipeline(directory: mixed).prior()) { e in
            XCTAssertEqual("\(e)", "\(mixed.path)/prior/prior: the prior makes 24-wide image embeddings, but the decoder's UNet reads 20")
        }
    }
}
