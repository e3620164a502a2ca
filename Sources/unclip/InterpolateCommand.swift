import ArgumentParser
import Foundation
import UnclipKit

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Decode a sequence of images between two embeddings (slerp).",
        discussion: """
        Frame θ (0 at A, 1 at B) targets slerp(z_A, z_B, θ) and is patch-synthesised from both \
        exemplars, A weighted 1−θ and B weighted θ. Every frame uses the same seed, so the \
        sequence moves smoothly; the first and last frames reproduce A and B.

          unclip interpolate a.emb b.emb --frames 9 -o frame-%02d.png --sheet sheet.png
          unclip encode a.png b.png | unclip interpolate - --frames 5 -o f-%d.png
          unclip interpolate a.emb b.emb --at 0.5 -o middle.png

        One input holding two records (a stream from `unclip encode a b`) counts as A and B. \
        --exemplar gives pixels to an end that has none (a text embedding).

        On the diffusion decoder, every frame starts from the same seeded noise x_T, as in the \
        paper; with --invert, from the slerp of both photos' DDIM-inverted latents, so that the \
        ends reconstruct the photos (DDIM, no guidance, unless asked otherwise).
        """
    )

    @Argument(help: "Embedding files A and B, or one stream with two records (- for stdin).")
    var inputs: [String] = ["-"]

    @Option(help: "Number of frames, θ evenly spaced from 0 to 1.")
    var frames: Int = 9

    @Option(help: ArgumentHelp("Decode the single frame at this θ (0…1) instead of a sequence.", valueName: "θ"))
    var at: Double?

    @Option(help: "Candidates per frame; the one closest to the frame's target is kept.")
    var candidates: Int = 1

    @Option(help: "Coarsest-level noise, as vary's --strength: the ends become variations of A and B (0: A and B exactly).")
    var strength: Float = 0

    @Option(help: ArgumentHelp("Also write a contact sheet of the frames to FILE.", valueName: "FILE"))
    var sheet: String?

    @Flag(help: "Write the frames' target embeddings instead of images.")
    var embeddingOnly = false

    @Flag(help: "Diffusion decoder: start each frame from the slerp of both photos' DDIM-inverted latents, so the ends reconstruct them (default: the same seeded noise for every frame).")
    var invert = false

    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var denoising: StepsOption
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...2).contains(inputs.count) else { throw ValidationError("give two embedding files, or one holding two records") }
        guard frames >= 2 else { throw ValidationError("--frames must be at least 2") }
        if let at { guard (0...1).contains(at) else { throw ValidationError("--at must be between 0 and 1") } }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard (0...2).contains(strength) else { throw ValidationError("--strength must be between 0 and 2") }
        if inputs.count == 2 && inputs[0] == "-" && inputs[1] == "-" { throw ValidationError("A and B cannot both come from stdin") }
        if embeddingOnly && sheet != nil { throw ValidationError("--sheet needs images; it cannot go with --embedding-only") }
    }

    func run() throws {
        try runReporting("interpolate") {
            let (a, b, names) = try readPair()
            try EmbeddingFile.checkSameModel(a, b, names: names)
            // --exemplar stands in for whichever end has no pixels (a text embedding).
            let given = try decoding.exemplarImage(maxPixels: common.maxPixels)
            if given != nil && a.exemplar != nil && b.exemplar != nil {
                throw UnclipError.usage("both \(names.0) and \(names.1) carry exemplars; --exemplar is for an end that has none (a text embedding)")
            }
            let thetas = at.map { [$0] } ?? Interpolation.thetas(frames: frames)
            if !embeddingOnly { try EditOutput.checkPattern(decoding.output, count: thetas.count, what: "frames") }
            let embedder = try modelOptions.load(required: nil, for: [a, b], threads: decoding.threads)
            let choice = try diffusion.choose("interpolate", model: embedder, records: [(names.0, a), (names.1, b)])
            if let pipeline = choice.pipeline {
                try interpolateWithDiffusion(a, b, names: names, pipeline: pipeline,
                                             exemplars: (a.exemplar ?? given, b.exemplar ?? given), thetas: thetas)
                return
            }
            if invert { throw UnclipError.usage("--invert applies to the diffusion decoder only") }
            let exA = try EmbeddingEdit.exemplar(of: a, name: names.0, override: a.exemplar == nil ? given : nil)
            let exB = try EmbeddingEdit.exemplar(of: b, name: names.1, override: b.exemplar == nil ? given : nil)
            if embeddingOnly {
                // One exemplar per record: the nearer endpoint's, so decode starts from the closer image.
                let records = thetas.map { t in
                    EmbeddingEdit.record(editing: t < 0.5 ? a : b, vector: Slerp.slerp(a.embedding, b.embedding, t),
                                         exemplar: t < 0.5 ? exA : exB,
                                         edit: String(format: "interpolate θ=%.4f from %@ to %@", t, names.0, names.1),
                                         provenance: ["command": commandLineText])
                }
                try EditOutput.writeEmbeddings(records, output: decoding.output)
                return
            }
            if let embedder { try EmbeddingEdit.checkModel(embedder, matches: a, name: names.0) }
            var o = Interpolation.Options()
            o.candidates = candidates
            o.strength = strength
            o.seed = decoding.seed
            o.synthesis = decoding.synthesis
            let progress = Progress("interpolate", enabled: common.progress ? true : nil)
            let out = try Interpolation.frames(a: exA, b: exB, za: a.embedding, zb: b.embedding, thetas: thetas,
                                               embedder: embedder, options: o) { progress.update($0, of: thetas.count, "frames") }
            progress.finish()
            let model = embedder?.modelName ?? a.model
            try EditOutput.writeImages(out.map { f in
                var extra = ["unclip:edit": String(format: "interpolate θ=%.4f", f.theta)]
                if !f.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", f.score) }
                return (f.image, EditOutput.text(seed: decoding.seed, model: model, extra: extra))
            }, output: decoding.output)
            try writeSheet(out.map(\.image), model: model)
        }
    }

    func writeSheet(_ images: [Image], model: String) throws {
        guard let sheet else { return }
        try IO.write(ImageCodec.encodePNG(ContactSheet.make(images, columns: min(images.count, 9)),
                                          text: EditOutput.text(seed: decoding.seed, model: model)), to: sheet)
    }

    func interpolateWithDiffusion(_ a: EmbeddingFile, _ b: EmbeddingFile, names: (String, String), pipeline: KandinskyPipeline,
                                  exemplars: (Image?, Image?), thetas: [Double]) throws {
        let settings = try diffusion.settings(steps: denoising.steps, inverting: invert)
        let progress = Progress("interpolate", enabled: common.progress ? true : nil)
        let frames = try pipeline.interpolate(a, b, names: names, exemplars: exemplars, thetas: thetas, inverted: invert,
                                              settings: settings, seed: decoding.seed, render: !embeddingOnly, progress: progress)
        func describe(_ t: Double) -> String { String(format: "interpolate θ=%.4f from %@ to %@", t, names.0, names.1) }
        if embeddingOnly {
            // Each frame's vector at its interpolated raw length, with its x_T.
            let records = frames.map { f in
                DiffusionOptions.record(f, editing: f.theta < 0.5 ? a : b, exemplar: f.theta < 0.5 ? exemplars.0 : exemplars.1,
                                        edit: describe(f.theta), settings: settings)
            }
            try EditOutput.writeEmbeddings(records, output: decoding.output)
            return
        }
        try EditOutput.writeImages(frames.map { f in
            var extra = DiffusionOptions.text(settings, seed: decoding.seed)
            extra["unclip:edit"] = String(format: "interpolate θ=%.4f%@", f.theta, invert ? " (inverted)" : "")
            return (f.image, EditOutput.text(seed: decoding.seed, model: pipeline.modelName, extra: extra))
        }, output: decoding.output)
        try writeSheet(frames.map(\.image), model: pipeline.modelName)
    }

    private func readPair() throws -> (EmbeddingFile, EmbeddingFile, (String, String)) {
        if inputs.count == 2 {
            return (try EmbeddingFile.read(inputs[0]), try EmbeddingFile.read(inputs[1]),
                    (IO.displayName(inputs[0]), IO.displayName(inputs[1])))
        }
        let name = IO.displayName(inputs[0])
        let records = try EmbeddingFile.readAll(inputs[0])
        guard records.count == 2 else {
            throw UnclipError.usage("\(name) holds \(records.count) embedding\(records.count == 1 ? "" : "s"); interpolate needs two: give A and B, or a stream of two records")
        }
        return (records[0], records[1], ("\(name) (record 1)", "\(name) (record 2)"))
    }
}
