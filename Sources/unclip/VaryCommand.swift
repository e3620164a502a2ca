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

    @Option(help: "Candidates decoded per variation; the best by similarity to the source are kept.")
    var candidates: Int = 2

    @Option(help: "Two variations closer than this cosine distance count as the same image.")
    var minDistance: Float = 0.002

    @Option(help: ArgumentHelp("Also write a contact sheet of the variations to FILE.", valueName: "FILE"))
    var sheet: String?

    @Flag(help: "Write the target embeddings (for `unclip decode`) instead of images.")
    var embeddingOnly = false

    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard (0...2).contains(strength) else { throw ValidationError("--strength must be between 0 and 2") }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard minDistance >= 0 && minDistance < 2 else { throw ValidationError("--min-distance must be in [0, 2)") }
        if embeddingOnly && sheet != nil { throw ValidationError("--sheet needs images; it cannot go with --embedding-only") }
    }

    func run() throws {
        try runReporting("vary") {
            let name = IO.displayName(embedding)
            let source = try EmbeddingFile.read(embedding)
            let exemplar = try EmbeddingEdit.exemplar(of: source, name: name, override: decoding.exemplarImage(maxPixels: common.maxPixels))
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
            try EditOutput.checkPattern(decoding.output, count: n, what: "variations")
            let embedder = try modelOptions.load(required: nil, for: [source], threads: decoding.threads)
            if let embedder { try EmbeddingEdit.checkModel(embedder, matches: source, name: name) } else {
                IO.note("unclip vary: no CLIP model available: variations are not steered")
            }
            var o = Variation.Options()
            o.strength = strength
            o.candidatesPerOutput = candidates
            o.minDistance = minDistance
            o.seed = decoding.seed
            o.synthesis = decoding.synthesis
            let progress = Progress("vary", enabled: common.progress ? true : nil)
            let r = try Variation.generate(exemplar: exemplar, target: source.embedding, count: n, embedder: embedder,
                                           options: o, progress: progress)
            let model = embedder?.modelName ?? source.model
            try EditOutput.writeImages(r.outputs.map { c in
                var extra = ["unclip:edit": String(format: "vary strength=%g", strength), "unclip:synthesis-seed": String(c.seed)]
                if !c.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", c.score) }
                return (c.image, EditOutput.text(seed: decoding.seed, model: model, extra: extra))
            }, output: decoding.output)
            if let sheet {
                try IO.write(ImageCodec.encodePNG(ContactSheet.make(r.outputs.map(\.image)),
                                                  text: EditOutput.text(seed: decoding.seed, model: model)), to: sheet)
            }
        }
    }
}
