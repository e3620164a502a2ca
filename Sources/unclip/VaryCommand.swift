import ArgumentParser
import Foundation
import UnclipKit

struct Vary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vary",
        abstract: "Decode N new images that keep what CLIP sees in an embedding.",
        discussion: """
        Each variation is patch-synthesised from the embedding's exemplar, starting from a noisy \
        coarsest level (--strength sets how noisy), so the layout changes while colours, textures \
        and objects stay. K candidates are decoded per output (--candidates) and the N closest to \
        the source embedding are kept, no two alike. --strength 0 reconstructs the exemplar.

          unclip encode photo.jpg | unclip vary -n 4 -o var-%d.png
          unclip vary photo.emb -n 4 --strength 0.5 --seed 7 -o var-%d.png
          unclip vary photo.emb -n 2 --embedding-only | unclip decode - -o dec-%d.png

        With --embedding-only the targets are written instead of pixels: one record per \
        variation, carrying the exemplar, the strength and the seed, which `unclip decode` honours.
        """
    )

    @Argument(help: "Embedding file (- for stdin).")
    var embedding: String = "-"

    @Option(name: .short, help: "Number of variations.")
    var n: Int = 4

    @Option(help: "How far variations wander: 0 reconstructs the exemplar, 1 is the usual amount, up to 2.")
    var strength: Float = 1

    @Option(help: "Candidates decoded per variation; the best by similarity to the source are kept (default: 2 on the patch decoder, 1 on the diffusion decoder).")
    var candidates: Int?

    @Option(help: "Two variations closer than this cosine distance count as the same image.")
    var minDistance: Float = 0.002

    @Option(help: ArgumentHelp("Also write a contact sheet of the variations to FILE.", valueName: "FILE"))
    var sheet: String?

    @Flag(help: "Write the target embeddings (for `unclip decode`) instead of images.")
    var embeddingOnly = false

    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var denoising: StepsOption
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard (0...2).contains(strength) else { throw ValidationError("--strength must be between 0 and 2") }
        guard (candidates ?? 1) >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard minDistance >= 0 && minDistance < 2 else { throw ValidationError("--min-distance must be in [0, 2)") }
        if embeddingOnly && sheet != nil { throw ValidationError("--sheet needs images; it cannot go with --embedding-only") }
    }

    func run() throws {
        try runReporting("vary") {
            let name = IO.displayName(embedding)
            let source = try EmbeddingFile.read(embedding)
            let given = try decoding.exemplarImage(maxPixels: common.maxPixels)
            if !embeddingOnly { try EditOutput.checkPattern(decoding.output, count: n, what: "variations") }
            let embedder = try modelOptions.load(required: nil, for: [source], threads: decoding.threads)
            let choice = try diffusion.choose("vary", model: embedder, records: [(name, source)])
            if let pipeline = choice.pipeline {
                try varyWithDiffusion(source, name: name, pipeline: pipeline, exemplar: given ?? source.exemplar)
                return
            }
            let exemplar = try EmbeddingEdit.exemplar(of: source, name: name, override: given)
            if embeddingOnly {
                let records = (0..<n).map { i -> EmbeddingFile in
                    let seed = decoding.seed &+ UInt64(i)
                    return EmbeddingEdit.record(editing: source, vector: source.embedding, exemplar: exemplar,
                                                edit: String(format: "vary strength=%g seed=%llu", strength, seed),
                                                provenance: ["strength": String(strength), "seed": String(seed), "command": commandLineText])
                }
                try EditOutput.writeEmbeddings(records, output: decoding.output)
                return
            }
            if let embedder { try EmbeddingEdit.checkModel(embedder, matches: source, name: name) } else {
                IO.note("unclip vary: no CLIP model available: variations are not steered")
            }
            var o = Variation.Options()
            o.strength = strength
            o.candidatesPerOutput = candidates ?? 2
            o.minDistance = minDistance
            o.seed = decoding.seed
            o.synthesis = decoding.synthesis
            let progress = Progress("vary", enabled: common.progress ? true : nil)
            let r = try Variation.generate(exemplar: exemplar, target: source.embedding, count: n, embedder: embedder,
                                           options: o, progress: progress)
            let model = embedder?.modelName ?? source.model
            try EditOutput.writeImages(r.outputs.map { c in
                var extra = ["unclip:edit": String(format: "vary strength=%g", strength), "unclip:synthesis-seed": String(c.seed),
                             "unclip:decoder": DecoderKind.patch.rawValue]
                if !c.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", c.score) }
                return (c.image, EditOutput.text(seed: decoding.seed, model: model, extra: extra))
            }, output: decoding.output)
            try writeSheet(r.outputs.map(\.image), model: model)
        }
    }

    func writeSheet(_ images: [Image], model: String) throws {
        guard let sheet else { return }
        try IO.write(ImageCodec.encodePNG(ContactSheet.make(images), text: EditOutput.text(seed: decoding.seed, model: model)), to: sheet)
    }

    /// Samples from the same z_i with different x_T (below strength 1, from
    /// the exemplar noised part way); with --embedding-only, each record
    /// carries its x_T so that `unclip decode` makes exactly that sample.
    func varyWithDiffusion(_ source: EmbeddingFile, name: String, pipeline: KandinskyPipeline, exemplar: Image?) throws {
        let settings = try diffusion.settings(steps: denoising.steps)
        let s = min(strength, 1)
        if s < 1 && exemplar == nil {
            throw UnclipError.usage("\(name): --strength below 1 starts from the exemplar, and a text embedding has none; give --exemplar IMAGE")
        }
        if embeddingOnly {
            let (w, h) = try pipeline.outputSize(settings, aspect: exemplar.map { Double($0.width) / Double($0.height) } ?? 1)
            let records = try (0..<n).map { i -> EmbeddingFile in
                let (seed, latent) = try pipeline.variationLatent(seed: decoding.seed, candidate: i, width: w, height: h)
                var r = EmbeddingEdit.record(editing: source, vector: source.embedding, exemplar: exemplar,
                                             edit: String(format: "vary strength=%g seed=%llu", s, seed),
                                             provenance: DiffusionOptions.record(settings).merging(
                                                ["strength": String(s), "seed": String(seed), "command": commandLineText]) { $1 })
                r.latent = latent
                return r
            }
            try EditOutput.writeEmbeddings(records, output: decoding.output)
            return
        }
        let progress = Progress("vary", enabled: common.progress ? true : nil)
        let samples = try pipeline.variations(of: source, name: name, exemplar: exemplar, count: n, candidatesPerOutput: candidates ?? 1,
                                              strength: s, minDistance: minDistance, settings: settings, seed: decoding.seed,
                                              progress: progress)
        try EditOutput.writeImages(samples.map { c in
            var extra = DiffusionOptions.text(settings, seed: c.seed)
            extra["unclip:edit"] = String(format: "vary strength=%g", s)
            if !c.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", c.score) }
            return (c.image, EditOutput.text(seed: decoding.seed, model: pipeline.modelName, extra: extra))
        }, output: decoding.output)
        try writeSheet(samples.map(\.image), model: pipeline.modelName)
    }
}
