import ArgumentParser
import Foundation
import UnclipKit

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Make images of a caption: the prior, then the diffusion decoder.",
        discussion: """
        unCLIP's text to image in one step: for each candidate the pipeline's prior samples a \
        CLIP image embedding of the caption and the diffusion decoder draws it; K candidates are \
        made per image (--candidates) and the N closest to the caption in CLIP are kept. Needs \
        the diffusion pipeline (`unclip model pull kandinsky-2.2`); there is no patch decoder \
        for pictures with no photo behind them.

          unclip generate "a lighthouse at dusk" -n 4 -o out-%d.png
          unclip encode --text "a lighthouse at dusk" --prior | unclip vary -n 4 -o out-%d.png   (the same in two steps)
        """
    )

    @Argument(help: "The caption.")
    var caption: String

    @Option(name: .short, help: "Number of images.")
    var n: Int = 1

    @Option(help: "Candidates made per image; the closest to the caption are kept.")
    var candidates: Int = 2

    @Option(help: "Two images closer than this cosine distance count as the same image.")
    var minDistance: Float = 0.002

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file; %d in the name numbers several images (e.g. out-%d.png). Default: stdout, for one image.", valueName: "PATTERN"))
    var output: String?

    @Option(help: "Random seed; the same caption and seed give byte-identical images. Recorded in the output.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("The diffusion pipeline: a folder, or an installed name (default: $UNCLIP_MODEL, else kandinsky-2.2).", valueName: "DIR"))
    var model: String?

    @Option(help: "CPU threads for the matrix products (default: all cores).")
    var threads: Int?

    @OptionGroup var priorOptions: PriorOptions
    @OptionGroup var diffusion: DiffusionOptions
    @OptionGroup var denoising: StepsOption
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        guard candidates >= 1 else { throw ValidationError("--candidates must be at least 1") }
        guard minDistance >= 0 && minDistance < 2 else { throw ValidationError("--min-distance must be in [0, 2)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if diffusion.decoder == .patch { throw ValidationError("generate draws with the diffusion decoder only; the patch decoder needs a photo") }
    }

    func run() throws {
        try runReporting("generate") {
            try EditOutput.checkPattern(output, count: n, what: "images")
            if let t = threads { BLAS.threads = t }
            let pipeline = try ModelStore.pipeline(model, for: "by generate")
            _ = try pipeline.folder(.decoder, for: "to draw")
            _ = try pipeline.prior()
            let settings = try diffusion.settings(steps: denoising.steps)
            let prior = priorOptions.settings
            // The tokenizer alone knows: no text-encoder pass just for the note.
            let tokenizer = try pipeline.tokenizer()
            if tokenizer.encodeNoting(caption).truncated {
                IO.note("unclip generate: note: the caption is longer than the \(tokenizer.contextLength) tokens the text encoder reads; the rest is ignored")
            }
            let progress = Progress("generate", enabled: common.progress ? true : nil)
            let made = try pipeline.generate(caption: caption, count: n, candidatesPerOutput: candidates, minDistance: minDistance,
                                             prior: prior, settings: settings, seed: seed, progress: progress)
            try EditOutput.writeImages(made.map { g in
                var extra = DiffusionOptions.text(settings, seed: g.seed)
                extra["unclip:caption"] = caption
                extra["unclip:prior-steps"] = String(prior.steps)
                extra["unclip:prior-guidance"] = String(prior.guidance)
                if !g.score.isNaN { extra["unclip:clip-score"] = String(format: "%.4f", g.score) }
                return (g.image, EditOutput.text(seed: seed, model: pipeline.modelName, extra: extra))
            }, output: output)
        }
    }
}
