import ArgumentParser
import Foundation
import UnclipKit

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode an embedding file back to an image.",
        discussion: """
        With the diffusion decoder (Kandinsky 2.2, when the embedding's model has one installed), \
        the image is denoised from the file's latent x_T when it carries one, else from seeded noise; \
        a text embedding needs no exemplar. With the patch decoder, \
        the image is drawn from the embedding's exemplar (or --exemplar) and moved toward the \
        embedding's vector by photographic adjustments, so an edit written with --embedding-only \
        (by vary, interpolate or textdiff) becomes pixels here. A record written by \
        `vary --embedding-only` carries its strength and seed, and decodes to a variation; its seed \
        takes precedence over --seed. A stream of several records decodes to several images.

          unclip encode a.jpg | unclip textdiff --to "a photo at night" --embedding-only | unclip decode -o night.png
          unclip decode cat-text.emb --exemplar cat.jpg -o cat.png
        """
    )

    @Argument(help: "Embedding file or stream (- for stdin).")
    var embedding: String = "-"

    @Option(help: "Candidates for the re-synthesis of a variation record.")
    var candidates: Int = 2

    @OptionGroup var search: SearchOptions
    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var denoising: StepsOption
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
    }

    func run() throws {
        try runReporting("decode") {
            let name = IO.displayName(embedding)
            let records = try EmbeddingFile.readAll(embedding)
            try EditOutput.checkPattern(decoding.output, count: records.count, what: "records")
            let named = records.enumerated().map { i, r in (name: records.count > 1 ? "\(name) (record \(i + 1))" : name, record: r) }
            let given = try decoding.exemplarImage(maxPixels: common.maxPixels)
            let model = try modelOptions.load(required: nil, for: records, threads: decoding.threads)
            let choice = try diffusion.choose("decode", model: model, records: named)
            if let pipeline = choice.pipeline {
                try decodeWithDiffusion(named, pipeline: pipeline, exemplar: given)
                return
            }
            let exemplars = try named.map { try EmbeddingEdit.exemplar(of: $0.record, name: $0.name, override: given) }
            if let model {
                for (n, r) in named { try EmbeddingEdit.checkModel(model, matches: r, name: n) }
            } else {
                IO.note("unclip decode: no CLIP model available: decoding the exemplar without steering")
            }
            var results: [(Image, [String: String])] = []
            for (r, ex) in zip(records, exemplars) {
                let strength = Float(r.extra["strength"] ?? "") ?? 0
                var d = decoding
                if strength > 0, let s = r.extra["seed"].flatMap(UInt64.init) { d.seed = s }
                let out = try EmbeddingDecoder.decode(exemplar: ex, target: r.embedding, embedder: model,
                                                      options: search.decoderOptions(d, strength: strength, candidates: candidates))
                var extra = ["unclip:adjustments": out.adjustments.summary, "unclip:decoder": DecoderKind.patch.rawValue]
                if let e = r.extra["edit"] { extra["unclip:edit"] = e }
                if !out.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", out.score) }
                results.append((out.image, EditOutput.text(seed: d.seed, model: model?.modelName ?? r.model, extra: extra)))
            }
            try EditOutput.writeImages(results, output: decoding.output)
        }
    }

    /// Each record from its own x_T (its `latent`, else seeded noise); a
    /// variation record below strength 1 from its exemplar, image-to-image.
    func decodeWithDiffusion(_ named: [(name: String, record: EmbeddingFile)], pipeline: KandinskyPipeline, exemplar given: Image?) throws {
        var results: [(Image, [String: String])] = []
        for (i, (n, r)) in named.enumerated() {
            let settings = try diffusion.settings(steps: denoising.steps, record: r)
            let exemplar = given ?? r.exemplar
            let strength = Float(r.extra["strength"] ?? "") ?? 1
            let seed = r.extra["seed"].flatMap(UInt64.init) ?? decoding.seed
            let latent: EmbeddingFile.Latent
            if let l = r.latent {
                latent = l
            } else {
                let (w, h) = try pipeline.outputSize(settings, aspect: exemplar.map { Double($0.width) / Double($0.height) } ?? 1)
                latent = try pipeline.initialLatent(seed: seed, width: w, height: h)
            }
            let progress = Progress(named.count > 1 ? "decode \(i + 1)/\(named.count)" : "decode", enabled: common.progress ? true : nil)
            let image = try pipeline.sample(embed: pipeline.conditioning(r, name: n), latent: latent, image: exemplar,
                                            strength: strength, settings: settings, seed: seed) { i, total in
                progress.step(i, of: total, "steps")
            }
            progress.finish()
            var extra = DiffusionOptions.text(settings, seed: seed)
            if let e = r.extra["edit"] { extra["unclip:edit"] = e }
            if r.latent != nil { extra["unclip:latent"] = "from the embedding file" }
            results.append((image, EditOutput.text(seed: seed, model: pipeline.modelName, extra: extra)))
        }
        try EditOutput.writeImages(results, output: decoding.output)
    }
}
