import ArgumentParser
import Foundation
import UnclipKit

struct Textdiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "textdiff",
        abstract: "Edit an image embedding along a caption difference and decode it.",
        discussion: """
        The edit direction is normalize(z_to − z_from) between the two captions' CLIP embeddings; \
        the target is slerp(z_image, direction, θ) (Ramesh et al. 2022, §3.3). θ of 0.25–0.5 \
        changes the described attribute and keeps the picture. The image is moved toward the \
        target by photographic adjustments (exposure, white balance, tone curve, saturation, hue, \
        and local colour through a coarse bilateral grid) found by a derivative-free search that \
        also keeps the result close to the original.

          unclip textdiff photo.emb --from "a photo" --to "a photo at night" -o night.png
          unclip textdiff photo.emb --to "a warm photo" --steps 5 -o step-%d.png
          unclip encode a.jpg | unclip textdiff --to "a photo at night" --embedding-only | unclip decode -o night.png

        On the diffusion decoder the target, at the image embedding's raw length, is decoded \
        from the exemplar's DDIM-inverted latent, so the layout stays and what the captions \
        describe changes (DDIM, no guidance, unless asked otherwise).
        """
    )

    @Argument(help: "Image embedding file (- for stdin).")
    var embedding: String = "-"

    @Option(help: "Caption describing the image now (default \"a photo\").")
    var from: String = ""

    @Option(help: "Caption describing the image wanted.")
    var to: String

    @Option(help: "How far to rotate toward the caption difference (0…1; 0.25–0.5 keeps the picture).")
    var theta: Double = 0.4

    @Option(help: "Write K images for θ evenly spaced from 0 to --theta.")
    var steps: Int?

    @Option(help: "Re-synthesise the exemplar first with this much noise (as vary's --strength); 0 edits the exemplar itself.")
    var strength: Float = 0

    @Option(help: "Candidates for the re-synthesis when --strength is above 0.")
    var candidates: Int = 2

    @Option(help: ArgumentHelp("Also write a contact sheet of the --steps sequence to FILE.", valueName: "FILE"))
    var sheet: String?

    @Flag(help: "Write the edited embedding(s) (for `unclip decode`) instead of images.")
    var embeddingOnly = false

    @Option(help: "Denoising steps of the diffusion decoder, for the inversion and each image (default 25).")
    var denoiseSteps: Int?

    @OptionGroup var search: SearchOptions
    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard theta.isFinite && (0...1).contains(theta) else { throw ValidationError("--theta must be between 0 and 1") }
        if let steps { guard steps >= 2 else { throw ValidationError("--steps must be at least 2") } }
        guard !to.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--to must not be empty") }
        guard (0...2).contains(strength) else { throw ValidationError("--strength must be between 0 and 2") }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        if let n = denoiseSteps { guard (1...1000).contains(n) else { throw ValidationError("--denoise-steps must be between 1 and 1000") } }
        if embeddingOnly && sheet != nil { throw ValidationError("--sheet needs images; it cannot go with --embedding-only") }
    }

    func run() throws {
        try runReporting("textdiff") {
            let name = IO.displayName(embedding)
            let source = try EmbeddingFile.read(embedding)
            let given = try decoding.exemplarImage(maxPixels: common.maxPixels)
            let exemplar = try EmbeddingEdit.exemplar(of: source, name: name, override: given)
            let thetas = steps.map { TextDiff.schedule(theta: theta, steps: $0) } ?? [theta]
            if !embeddingOnly { try EditOutput.checkPattern(decoding.output, count: thetas.count, what: "steps") }
            let model = try modelOptions.load(required: "textdiff", for: [source], threads: decoding.threads)!
            try EmbeddingEdit.checkModel(model, matches: source, name: name)
            let fromCaption = from.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? TextDiff.defaultFrom : from
            let direction = try TextDiff.direction(text: model, to: to, from: fromCaption)
            let targets = try thetas.map { try TextDiff.target(image: source.embedding, direction: direction, theta: $0) }
            func describe(_ t: Double) -> String { String(format: "textdiff from \"%@\" to \"%@\" θ=%g", fromCaption, to, t) }
            let choice = try diffusion.choose("textdiff", model: model, records: [(name, source)])
            if let pipeline = choice.pipeline {
                // The layout comes from the exemplar's inverted latent; the
                // photographic-adjustment search is the patch decoder's path.
                let settings = try diffusion.settings(steps: denoiseSteps, inverting: true)
                let progress = Progress("textdiff", enabled: common.progress ? true : nil)
                let frames = try pipeline.textDiff(source, name: name, exemplar: exemplar, direction: direction, thetas: thetas,
                                                   settings: settings, seed: decoding.seed, render: !embeddingOnly, progress: progress)
                if embeddingOnly {
                    let records = frames.map { f in
                        DiffusionOptions.record(f, editing: source, exemplar: exemplar, edit: describe(f.theta), settings: settings)
                    }
                    try EditOutput.writeEmbeddings(records, output: decoding.output)
                    return
                }
                let images = frames.map { f -> (Image, [String: String]) in
                    var extra = DiffusionOptions.text(settings, seed: decoding.seed)
                    extra["unclip:edit"] = describe(f.theta)
                    return (f.image, EditOutput.text(seed: decoding.seed, model: pipeline.modelName, extra: extra))
                }
                try EditOutput.writeImages(images, output: decoding.output)
                if let sheet {
                    try IO.write(ImageCodec.encodePNG(ContactSheet.make(images.map(\.0)),
                                                      text: EditOutput.text(seed: decoding.seed, model: pipeline.modelName)), to: sheet)
                }
                return
            }

            if embeddingOnly {
                let records = zip(thetas, targets).map { t, z in
                    EmbeddingEdit.record(editing: source, vector: z, exemplar: exemplar, edit: describe(t),
                                         provenance: ["command": commandLineText])
                }
                try EditOutput.writeEmbeddings(records, output: decoding.output)
                return
            }
            let options = search.decoderOptions(decoding, strength: strength, candidates: candidates)
            let progress = Progress("textdiff", enabled: common.progress ? true : nil)
            var results: [(Image, [String: String])] = []
            var previous = PhotoAdjustments()
            for (i, (t, z)) in zip(thetas, targets).enumerated() {
                // Each step starts from the last one's edit, so the sequence moves steadily.
                let r = try EmbeddingDecoder.decode(exemplar: exemplar, target: z, embedder: model, options: options, start: previous)
                previous = r.adjustments
                let extra = ["unclip:edit": describe(t), "unclip:adjustments": r.adjustments.summary,
                             "unclip:clip-score": String(format: "%.4f", r.score)]
                results.append((r.image, EditOutput.text(seed: decoding.seed, model: model.modelName, extra: extra)))
                progress.update(i + 1, of: thetas.count, "steps")
            }
            progress.finish()
            try EditOutput.writeImages(results, output: decoding.output)
            if let sheet {
                try IO.write(ImageCodec.encodePNG(ContactSheet.make(results.map(\.0)),
                                                  text: EditOutput.text(seed: decoding.seed, model: model.modelName)), to: sheet)
            }
        }
    }
}
