import ArgumentParser
import Foundation
import UnclipKit

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode an embedding file back to an image.",
        discussion: """
        The image is drawn from the embedding's exemplar (or --exemplar) and moved toward the \
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
            let given = try decoding.exemplarImage(maxPixels: common.maxPixels)
            let exemplars = try records.enumerated().map { i, r in
                try EmbeddingEdit.exemplar(of: r, name: records.count > 1 ? "\(name) (record \(i + 1))" : name, override: given)
            }
            let model = try modelOptions.load(required: nil, for: records, threads: decoding.threads)
            if let model {
                for (i, r) in records.enumerated() {
                    try EmbeddingEdit.checkModel(model, matches: r, name: records.count > 1 ? "\(name) (record \(i + 1))" : name)
                }
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
                var extra = ["unclip:adjustments": out.adjustments.summary]
                if let e = r.extra["edit"] { extra["unclip:edit"] = e }
                if !out.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", out.score) }
                results.append((out.image, EditOutput.text(seed: d.seed, model: model?.modelName ?? r.model, extra: extra)))
            }
            try EditOutput.writeImages(results, output: decoding.output)
        }
    }
}
