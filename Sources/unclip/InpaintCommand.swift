import ArgumentParser
import Foundation
import UnclipKit

struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inpaint",
        abstract: "Regenerate the masked region of an image, seamlessly.",
        discussion: """
        The masked pixels are rebuilt from patches of the rest of the image and blended in the \
        gradient domain, so colour and lighting continue across the seam. Every pixel outside the \
        mask (after --grow and --feather) keeps its exact value.

        Mask: with --mask, a separate image of the same size where white regenerates and black \
        keeps (grey is a soft blend); without --mask, the image's own alpha channel, where \
        transparent regenerates. A mask of the wrong size, an empty mask and a mask that covers \
        the whole image are usage errors (exit 64).

          unclip inpaint photo.jpg --mask hole.png -o fixed.png
          unclip inpaint cutout.png -n 4 --seed 7 -o fill-%d.png
          unclip inpaint photo.jpg --extend 0,0,384,0 -o wider.png

        With the diffusion decoder (Kandinsky 2.2's inpainting decoder, when installed), the hole \
        and its context (the whole image up to 768 pixels) are regenerated at a working size of at \
        most 768 pixels toward the image's own CLIP embedding (or --prompt's, or --embedding's); a \
        region that was scaled down gets its full-resolution detail from the photo's own patches.

        --prompt goes through the pipeline's prior when it is installed: the caption's image \
        embedding (what a picture of it looks like to CLIP), slerped with the photo's own by \
        --strength. Without the prior it rotates the photo's embedding toward the caption's text \
        embedding instead, and says so.
        """
    )

    @Argument(help: "The image to repair (PNG or JPEG), or - for stdin.")
    var image: String

    @Option(help: ArgumentHelp("Mask image: white = regenerate, black = keep, grey = soft. Default: the image's alpha channel.", valueName: "file"))
    var mask: String?

    @Flag(help: "Treat the mask's black as regenerate and white as keep.")
    var invertMask = false

    @Option(help: ArgumentHelp("Grow the mask by this many pixels (takes halos and soft edges too).", valueName: "px"))
    var grow: Int = 0

    @Option(help: ArgumentHelp("Soften the mask's edge outward over this many pixels.", valueName: "px"))
    var feather: Int = 0

    @Option(name: .short, help: ArgumentHelp("Number of results to write.", valueName: "count"))
    var n: Int = 1

    @Option(help: "Random seed; result i uses seed + i. Recorded in the output.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Steer the fill toward this caption (needs a CLIP model).", valueName: "text"))
    var prompt: String?

    @Option(help: ArgumentHelp("Steer the fill toward the CLIP embedding in this .emb file (needs a CLIP model).", valueName: "file"))
    var embedding: String?

    @Option(help: ArgumentHelp("How far --prompt moves the image's embedding toward the caption's (0…1).", valueName: "0…1"))
    var strength: Float = 0.5

    @OptionGroup var priorOptions: PriorOptions

    @Option(help: ArgumentHelp("Candidates decoded per result when steering; the best by CLIP similarity are kept (default 3 on the patch decoder, 1 on the diffusion decoder).", valueName: "k"))
    var candidates: Int?

    @Option(help: ArgumentHelp("Outpaint: grow the canvas by LEFT,TOP,RIGHT,BOTTOM pixels and regenerate the new border.", valueName: "l,t,r,b"))
    var extend: String?

    @Option(help: ArgumentHelp("Noise at the coarsest level (0 = most faithful fill, ~0.3 = more varied).", valueName: "amount"))
    var noise: Float = 0

    @Flag(help: "Paste the synthesised pixels without gradient-domain blending.")
    var noBlend = false

    @Option(help: ArgumentHelp(
        "CLIP model for steering: a folder in Hugging Face layout, or a name installed with `unclip model pull`.",
        discussion: "Default: $UNCLIP_MODEL, else openai/clip-vit-base-patch32 from the model store; without one the fill is not steered.",
        valueName: "dir|name"))
    var model: String?

    @Option(help: ArgumentHelp("Worker threads (the result does not depend on it).", valueName: "n"))
    var threads: Int = 2

    @Option(name: .short, help: ArgumentHelp("Output image (JPEG for .jpg/.jpeg names, PNG otherwise); use %d in the name when -n > 1. Default: stdout, as PNG.", valueName: "file"))
    var output: String?

    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var denoising: StepsOption
    @OptionGroup var common: CommonOptions

    func parsedExtend() throws -> (Int, Int, Int, Int)? {
        guard let extend else { return nil }
        let v = extend.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == 4, v.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1 << 16 }) else {
            throw ValidationError("--extend \(extend): expected LEFT,TOP,RIGHT,BOTTOM in pixels, e.g. 0,0,256,0")
        }
        return (v[0]!, v[1]!, v[2]!, v[3]!)
    }

    func validate() throws {
        _ = try parsedExtend()
        if diffusion.size != nil { throw ValidationError("--size does not apply to inpaint: the working size follows the hole and its context") }
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard grow >= 0 else { throw ValidationError("--grow must be 0 or more pixels") }
        guard feather >= 0 else { throw ValidationError("--feather must be 0 or more pixels") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (candidates ?? 1) >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be between 0 and 1") }
        guard noise >= 0 && noise <= 4 else { throw ValidationError("--noise must be between 0 and 4") }
        guard prompt == nil || embedding == nil else { throw ValidationError("give --prompt or --embedding, not both") }
        if priorOptions.given && prompt == nil { throw ValidationError("--prior-steps and --prior-guidance go with --prompt") }
        if n > 1 && (output == nil || output == "-") {
            throw ValidationError("-n \(n) writes several images: give -o with %d in the name (e.g. -o fill-%d.png)")
        }
        if image == "-" && mask == "-" { throw ValidationError("the image and the mask cannot both come from stdin") }
    }

    func run() throws {
        try runReporting("inpaint") {
            let name = IO.displayName(image)
            let input = try ImageCodec.read(image, maxPixels: common.maxPixels)
            let maskImage = try mask.map { try ImageCodec.read($0, maxPixels: common.maxPixels) }
            let (outputImage, hole) = try InpaintMask.prepare(image: input, name: name, mask: maskImage, maskName: mask.map(IO.displayName),
                                                              invert: invertMask, extend: try parsedExtend(), grow: grow, feather: feather,
                                                              maxPixels: common.maxPixels)

            // Read the file first so a bad one is reported even when steering is off.
            let fileTarget = try embedding.map { try EmbeddingFile.read($0) }
            let model = try InpaintSteering.loadModel(self.model, threads: threads)
            let choice = try diffusion.choose("inpaint", model: model, records: fileTarget.map { [(IO.displayName(embedding!), $0)] } ?? [],
                                              component: .inpaint)
            var options = SynthesisOptions.inpainting
            options.noise = noise
            options.threads = threads
            let progress = Progress("inpaint", enabled: common.progress ? true : nil)
            let results: [(image: Image, seed: UInt64, score: Float)]
            var extra: [String: String] = [:]
            if let pipeline = choice.pipeline {
                let settings = try diffusion.settings(steps: denoising.steps)
                var target: [Float], norm: Float
                if let fileTarget {
                    _ = try pipeline.conditioning(fileTarget, name: IO.displayName(embedding!))   // has a raw length
                    (target, norm) = (fileTarget.embedding, fileTarget.norm!)
                } else {
                    let z = try pipeline.embedKeepingNorms(images: [input.rgb()])[0]
                    (target, norm) = (z.vector, z.norm!)
                    if let prompt {
                        let t = try pipeline.promptTarget(photo: z.vector, norm: z.norm!, prompt: prompt, strength: strength,
                                                          settings: priorOptions.settings, seed: seed)
                        if !t.usedPrior { noteNoPrior() }
                        (target, norm) = (t.unit, t.norm)
                    }
                }
                let k = candidates ?? 1
                var made: [(Image, UInt64)] = []
                for i in 0..<(n * k) {
                    let s = seed &+ UInt64(i)
                    let filled = try pipeline.inpaint(outputImage, mask: hole, embed: target.map { $0 * norm }, latent: fileTarget?.latent,
                                                      settings: settings, seed: s, seamless: !noBlend, synthesis: options) { step, total in
                        progress.step(i * total + step, of: n * k * total, "steps")
                    }
                    made.append((filled, s))
                }
                progress.finish()
                results = try pick(made, target: target, steer: k > 1 ? pipeline : nil)
                extra = DiffusionOptions.text(settings, seed: seed)
                extra.removeValue(forKey: "unclip:sample-seed")
            } else {
                var steering: (embedder: ImageEmbedder, target: [Float])?
                if let model {
                    var target: [Float]
                    if let fileTarget {
                        guard fileTarget.modelHash == model.modelHash else {
                            throw UnclipError.usage("\(IO.displayName(embedding!)): made by \(fileTarget.model), not by \(model.modelName)")
                        }
                        target = fileTarget.embedding
                    } else {
                        if let prompt, let p = model as? KandinskyPipeline, p.hasPrior {
                            let z = try p.embedKeepingNorms(images: [input.rgb()])[0]
                            target = try p.promptTarget(photo: z.vector, norm: z.norm!, prompt: prompt, strength: strength,
                                                        settings: priorOptions.settings, seed: seed).unit
                        } else {
                            target = try model.embed(images: [input.rgb()])[0]  // [D]
                            if let prompt {
                                noteNoPrior()
                                target = Slerp.slerp(target, try model.embed(texts: [prompt])[0], Double(strength))
                            }
                        }
                    }
                    steering = (model, target)
                } else {
                    let ignored = prompt != nil || embedding != nil ? "--prompt/--embedding ignored" : "one candidate per result"
                    IO.note("unclip inpaint: note: no CLIP model installed, so the fill is not steered (\(ignored))")
                }
                let count = steering == nil ? n : n * (candidates ?? 3)
                var made: [(Image, UInt64)] = []
                for i in 0..<count {
                    options.seed = seed &+ UInt64(i)
                    let filled = try Inpainting.inpaint(outputImage, mask: hole, options: options, seamless: !noBlend,
                                                        progress: count > 1 ? nil : progress)
                    if count > 1 { progress.update(i + 1, of: count, "candidates") }
                    made.append((filled, options.seed))
                }
                if count > 1 { progress.finish() }
                results = try pick(made, target: steering?.target ?? [], steer: steering?.embedder)
                extra["unclip:decoder"] = DecoderKind.patch.rawValue
            }
            for (i, r) in results.enumerated() {
                var text = extra
                text["Software"] = "unclip \(unclipVersion)"
                text["unclip:command"] = commandLineText
                text["unclip:seed"] = String(r.seed)
                if !r.score.isNaN { text["unclip:clip-score"] = String(format: "%.4f", r.score) }
                let path = IO.expand(pattern: output ?? "-", index: i, total: results.count)
                try ImageCodec.write(r.image, to: path, text: text)
            }
        }
    }

    /// The `n` candidates closest to `target` when steering, else all of them in order.
    private func pick(_ made: [(Image, UInt64)], target: [Float], steer: ImageEmbedder?) throws -> [(image: Image, seed: UInt64, score: Float)] {
        guard let steer else { return made.map { ($0.0, $0.1, Float.nan) } }
        return try SteeredDecoder(embedder: steer).selectIndices(candidates: made.map(\.0), target: target, keep: n, minDistance: nil)
            .map { (made[$0.index].0, made[$0.index].1, $0.score) }
    }

    func noteNoPrior() {
        IO.note("unclip inpaint: note: no prior installed: --prompt steers toward the caption's text embedding (`unclip model pull \(ModelStore.pipelineName) --only prior` adds the prior)")
    }
}

/// Where `unclip inpaint` gets its model from.
enum InpaintSteering {
    /// The model named by `--model` or $UNCLIP_MODEL (a failure to load it
    /// is an error); else the diffusion pipeline when one is installed with
    /// its inpainting decoder; else the default CLIP if installed; else nil:
    /// with no model at all inpainting still works, unsteered.
    static func loadModel(_ option: String?, threads: Int) throws -> (ImageEmbedder & TextEmbedder)? {
        let explicit = option != nil || !(ProcessInfo.processInfo.environment["UNCLIP_MODEL"] ?? "").isEmpty
        var directory: URL
        if !explicit, let p = ModelStore.installedPipeline(),
           FileManager.default.fileExists(atPath: p.appendingPathComponent(KandinskyPipeline.Component.inpaint.folder).path) {
            directory = p
        } else {
            do {
                directory = try ModelStore.resolve(option)
            } catch let e as UnclipError where !explicit {
                if case .model = e { return nil }
                throw e
            }
        }
        BLAS.threads = threads
        return try ModelStore.load(directory)
    }
}
