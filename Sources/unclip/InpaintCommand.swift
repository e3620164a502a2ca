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

    @Option(help: ArgumentHelp("How far --prompt rotates the image's embedding toward the caption (0…1).", valueName: "0…1"))
    var strength: Float = 0.5

    @Option(help: ArgumentHelp("Candidates decoded per result when steering; the best by CLIP similarity are kept.", valueName: "k"))
    var candidates: Int = 3

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

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard grow >= 0 else { throw ValidationError("--grow must be 0 or more pixels") }
        guard feather >= 0 else { throw ValidationError("--feather must be 0 or more pixels") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be between 0 and 1") }
        guard noise >= 0 && noise <= 4 else { throw ValidationError("--noise must be between 0 and 4") }
        guard prompt == nil || embedding == nil else { throw ValidationError("give --prompt or --embedding, not both") }
        if n > 1 && (output == nil || output == "-") {
            throw ValidationError("-n \(n) writes several images: give -o with %d in the name (e.g. -o fill-%d.png)")
        }
        if image == "-" && mask == "-" { throw ValidationError("the image and the mask cannot both come from stdin") }
    }

    func run() throws {
        try runReporting("inpaint") {
            let name = IO.displayName(image)
            let input = try ImageCodec.read(image, maxPixels: common.maxPixels)
            var plane: [Float]
            var outputImage = input
            if let mask {
                let maskImage = try ImageCodec.read(mask, maxPixels: common.maxPixels)
                guard maskImage.width == input.width && maskImage.height == input.height else {
                    throw UnclipError.usage("\(IO.displayName(mask)): mask is \(maskImage.width)x\(maskImage.height) but \(name) is \(input.width)x\(input.height)")
                }
                plane = InpaintMask.fromMaskImage(maskImage, invert: invertMask)
            } else {
                guard input.hasAlpha else {
                    throw UnclipError.usage("\(name): no --mask given and the image has no alpha channel to use as one")
                }
                plane = InpaintMask.fromAlpha(input)
                if invertMask { plane = plane.map { 1 - $0 } }
                // The alpha was the mask, not transparency: the result is opaque.
                outputImage = input.channels == 4 ? input.rgb() : Image(width: input.width, height: input.height, channels: 1, pixels: input.gray())
            }
            plane = InpaintMask.grow(plane, width: input.width, height: input.height, radius: grow)
            plane = InpaintMask.feather(plane, width: input.width, height: input.height, radius: feather)
            let cover = InpaintMask.coverage(plane)
            let maskName = mask.map(IO.displayName) ?? "\(name) (alpha)"
            guard cover.touched > 0 else {
                throw UnclipError.usage("\(maskName): the mask is empty, so there is nothing to inpaint")
            }
            guard cover.full < plane.count else {
                throw UnclipError.usage("\(maskName): the mask covers the whole image, so there is nothing to copy from")
            }

            let steering = try steeringTarget(input: input)
            var options = SynthesisOptions.inpainting
            options.noise = noise
            options.threads = threads
            let progress = Progress("inpaint", enabled: common.progress ? true : nil)
            let count = steering == nil ? n : n * candidates
            var results: [(image: Image, seed: UInt64, score: Float)] = []
            var made: [(Image, UInt64)] = []
            for i in 0..<count {
                options.seed = seed &+ UInt64(i)
                let filled = try Inpainting.inpaint(outputImage, mask: plane, options: options, seamless: !noBlend,
                                                    progress: count > 1 ? nil : progress)
                if count > 1 { progress.update(i + 1, of: count, "candidates") }
                made.append((filled, options.seed))
            }
            if count > 1 { progress.finish() }
            if let steering {
                let picked = try steering.decoder.select(candidates: made.map(\.0), target: steering.target, keep: n, minDistance: nil)
                for p in picked {
                    let k = made.firstIndex { $0.0 == p.image }!
                    results.append((p.image, made[k].1, p.score))
                }
            } else {
                results = made.map { ($0.0, $0.1, Float.nan) }
            }
            for (i, r) in results.enumerated() {
                var text = ["Software": "unclip \(unclipVersion)", "unclip:command": commandLineText,
                            "unclip:seed": String(r.seed)]
                if !r.score.isNaN { text["unclip:clip-score"] = String(format: "%.4f", r.score) }
                let path = IO.expand(pattern: output ?? "-", index: i, total: results.count)
                try ImageCodec.write(r.image, to: path, text: text)
            }
        }
    }

    /// The CLIP target to steer toward, or nil (with one note on stderr)
    /// when no model is available: inpainting works without one.
    private func steeringTarget(input: Image) throws -> (decoder: SteeredDecoder, target: [Float])? {
        // Read the file first so a bad one is reported even when steering is off.
        let fileTarget = try embedding.map { try EmbeddingFile.read($0) }
        guard let clip = try InpaintSteering.loadModel(model, threads: threads) else {
            let ignored = prompt != nil || embedding != nil ? "--prompt/--embedding ignored" : "one candidate per result"
            IO.note("unclip inpaint: note: no CLIP model installed, so the fill is not steered (\(ignored))")
            return nil
        }
        var target: [Float]
        if let fileTarget {
            guard fileTarget.modelHash == clip.image.modelHash else {
                throw UnclipError.usage("\(IO.displayName(embedding!)): made by \(fileTarget.model), not by \(clip.image.modelName)")
            }
            target = fileTarget.embedding
        } else {
            target = try clip.image.embed(images: [input.rgb()])[0]  // [D]
            if let prompt {
                let text = try clip.text.embed(texts: [prompt])[0]  // [D]
                target = InpaintSteering.slerp(target, text, strength)
            }
        }
        return (SteeredDecoder(embedder: clip.image), target)
    }
}

/// Where `unclip inpaint` gets its CLIP model from.
enum InpaintSteering {
    /// The CLIP model named by `--model` or $UNCLIP_MODEL (a failure to load
    /// it is an error), else the default one if installed, else nil: with
    /// no model at all inpainting still works, unsteered.
    static func loadModel(_ option: String?, threads: Int) throws -> (image: ImageEmbedder, text: TextEmbedder)? {
        let explicit = option != nil || !(ProcessInfo.processInfo.environment["UNCLIP_MODEL"] ?? "").isEmpty
        let directory: URL
        do {
            directory = try ModelStore.resolve(option)
        } catch let e as UnclipError where !explicit {
            if case .model = e { return nil }
            throw e
        }
        BLAS.threads = threads
        let clip = try CLIPModel(directory: directory)
        return (clip, clip)
    }

    /// Spherical interpolation between unit vectors (Shoemake 1985), the
    /// rotation DALL·E 2 uses to move an image embedding toward a caption.
    static func slerp(_ a: [Float], _ b: [Float], _ t: Float) -> [Float] {
        let dot = max(-1, min(1, zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }))
        let theta = acos(dot)
        guard theta > 1e-5 else { return a }
        let wa = sin((1 - t) * theta) / sin(theta), wb = sin(t * theta) / sin(theta)
        var v = zip(a, b).map { wa * $0 + wb * $1 }
        let n = max(1e-12, v.reduce(0) { $0 + $1 * $1 }.squareRoot())
        v = v.map { $0 / n }
        return v
    }
}
