import ArgumentParser
import Foundation
import UnclipKit

/// The model the editing subcommands steer with. The real one is CLIP; the
/// environment variable UNCLIP_TEST_EMBEDDER=statistic swaps in
/// `StatisticEmbedder` so tests and demonstrations run without weights.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("CLIP model: a model directory or an installed model's name.", valueName: "DIR"))
    var model: String?

    static let testEmbedderVariable = "UNCLIP_TEST_EMBEDDER"

    /// The embedder, or nil when none is installed and `required` is nil
    /// (the caller then decodes unsteered and says so). Without --model or
    /// UNCLIP_MODEL, the model that made `records` is used when it is in the
    /// store, so an edit is scored in its own embedding's space.
    func load(required: String?, for records: [EmbeddingFile] = [], threads: Int) throws -> (ImageEmbedder & TextEmbedder)? {
        if let name = ProcessInfo.processInfo.environment[Self.testEmbedderVariable], !name.isEmpty {
            guard name == "statistic" else {
                throw UnclipError.usage("\(Self.testEmbedderVariable)=\(name): the only test model is \"statistic\"")
            }
            return StatisticEmbedder()
        }
        var option = model
        if option == nil && (ProcessInfo.processInfo.environment["UNCLIP_MODEL"] ?? "").isEmpty,
           let made = records.first?.model, ModelStore.isHubName(made),
           FileManager.default.fileExists(atPath: ModelStore.directory(for: made).path) {
            option = made
        }
        let directory: URL
        do {
            directory = try ModelStore.resolve(option)
        } catch let e as UnclipError {
            // No model at all is fine for decoding (unsteered); a named one that is missing is not.
            guard required == nil, option == nil else {
                throw required.map { UnclipError.model("\($0) needs a CLIP model: \(e.description)") } ?? e
            }
            return nil
        }
        // CLIP's scores are reproducible for a fixed BLAS thread count, and
        // they pick the outputs: tie it to --threads.
        BLAS.threads = threads
        return try ModelStore.load(directory)
    }
}

/// Options every decoding subcommand shares.
struct DecodingOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Output file; %d in the name numbers several outputs (e.g. out-%d.png). Default: stdout, for one output.", valueName: "PATTERN"))
    var output: String?

    @Option(help: ArgumentHelp("Decode from this image instead of the embedding's own exemplar (required for text embeddings, which carry none).", valueName: "IMAGE"))
    var exemplar: String?

    @Option(help: ArgumentHelp("Longest side --exemplar is shrunk to, as encode's exemplars are.", valueName: "pixels"))
    var exemplarSize: Int = 512

    @Option(help: "Random seed; the same inputs and seed give byte-identical outputs. Recorded in the output.")
    var seed: UInt64 = 0

    @Option(help: "Worker threads (the output does not depend on it).")
    var threads: Int = 2

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard exemplarSize >= 1 else { throw ValidationError("--exemplar-size must be at least 1") }
    }

    /// --exemplar at working size: synthesis time grows with its pixels.
    func exemplarImage(maxPixels: Int) throws -> Image? {
        try exemplar.map { Exemplar.make(try ImageCodec.read($0, maxPixels: maxPixels), maxSide: exemplarSize) }
    }

    var synthesis: SynthesisOptions {
        var s = Variation.synthesisDefaults
        s.seed = seed
        s.threads = threads
        return s
    }
}

enum EditOutput {
    /// PNG tEXt records: what made the image, so it can be made again.
    static func text(seed: UInt64, model: String, extra: [String: String] = [:]) -> [String: String] {
        var t = extra
        t["Software"] = "unclip \(unclipVersion)"
        t["unclip:command"] = commandLineText
        t["unclip:seed"] = String(seed)
        t["unclip:model"] = model
        return t
    }

    /// Refuses several outputs without somewhere to put them, before any work.
    static func checkPattern(_ output: String?, count: Int, what: String) throws {
        if count > 1 && (output == nil || output == "-") {
            throw UnclipError.usage("\(count) \(what) need -o with %d in the name (e.g. -o out-%d.png)")
        }
    }

    /// Writes images to `-o PATTERN`, or the single image to stdout.
    static func writeImages(_ images: [(Image, [String: String])], output: String?) throws {
        try checkPattern(output, count: images.count, what: "images")
        for (i, (im, text)) in images.enumerated() {
            let path = IO.expand(pattern: output ?? "-", index: i, total: images.count)
            try IO.write(ImageCodec.encodePNG(im, text: text), to: path)
        }
    }

    /// Writes embedding records: one file each when the pattern has a %d,
    /// else one stream (a file or stdout) holding them all, as `unclip
    /// encode` writes several inputs.
    static func writeEmbeddings(_ records: [EmbeddingFile], output: String?) throws {
        let out = output ?? "-"
        if out != "-" && out.range(of: #"%0?\d*d"#, options: .regularExpression) != nil {
            for (i, r) in records.enumerated() { try IO.write(r.serialize(), to: IO.expand(pattern: out, index: i, total: records.count)) }
        } else {
            try IO.write(records.flatMap { $0.serialize() }, to: out)
        }
    }
}

/// How textdiff and decode search photographic edits toward a target.
struct SearchOptions: ParsableArguments {
    @Option(help: "Candidate edits scored by the model (more is slower and closer to the target).")
    var evaluations: Int = 120

    @Option(help: "How strongly the search prefers small changes (0 = only the target matters).")
    var closeness: Double = 1

    @Flag(help: "Only global adjustments (exposure, white balance, tone, saturation, hue), no local colour.")
    var globalOnly = false

    func validate() throws {
        guard evaluations >= 1 else { throw ValidationError("--evaluations must be at least 1") }
        guard closeness >= 0 && closeness.isFinite else { throw ValidationError("--closeness must be 0 or more") }
    }

    func decoderOptions(_ decoding: DecodingOptions, strength: Float, candidates: Int) -> EmbeddingDecoder.Options {
        var o = EmbeddingDecoder.Options()
        o.strength = strength
        o.candidates = candidates
        o.seed = decoding.seed
        o.synthesis = decoding.synthesis
        o.search.evaluations = evaluations
        o.search.closeness = closeness
        o.search.local = !globalOnly
        return o
    }
}

extension DecoderKind: ExpressibleByArgument {}
extension SchedulerKind: ExpressibleByArgument {}

/// The decoder choice and the diffusion decoder's settings, shared by every
/// decoding subcommand. Unset options fall back to what an `--embedding-only`
/// record says it was made with, then to the command's defaults.
struct DiffusionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("diffusion or patch. Default: diffusion when the embedding's model has an installed decoder (`unclip model pull kandinsky-2.2`), else patch.", valueName: "decoder"))
    var decoder: DecoderKind?

    @Option(help: "Classifier-free guidance scale of the diffusion decoder (default 4; 1, no guidance, when decoding from an inverted latent).")
    var guidance: Float?

    @Option(help: ArgumentHelp("Sampler of the diffusion decoder: ddpm, ddim or dpm++ (default dpm++; ddim when decoding from an inverted latent).", valueName: "name"))
    var scheduler: SchedulerKind?

    @Option(help: ArgumentHelp("Output size of the diffusion decoder, in pixels (multiples of 64). Default: the exemplar's aspect ratio near 512×512.", valueName: "WxH"))
    var size: String?

    func validate() throws {
        if let guidance { guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be between 0 and 100") } }
        _ = try parsedSize()
    }

    func parsedSize() throws -> (Int, Int)? {
        guard let size else { return nil }
        let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w <= 8192, h <= 8192 else {
            throw ValidationError("--size \(size): expected WIDTHxHEIGHT in pixels, e.g. 768x512")
        }
        return (w, h)
    }

    /// `steps`: the command's denoising-steps option. `inverting`: decoding
    /// from a DDIM-inverted latent, which only DDIM without guidance undoes.
    func settings(steps: Int?, record: EmbeddingFile? = nil, inverting: Bool = false) throws -> DiffusionSettings {
        var s = DiffusionSettings()
        let extra = record?.extra ?? [:]
        if let n = steps ?? extra["steps"].flatMap(Int.init) { s.steps = n }
        if let g = guidance ?? extra["guidance"].flatMap(Float.init) { s.guidance = g } else if inverting { s.guidance = 1 }
        if let k = scheduler ?? extra["scheduler"].flatMap(SchedulerKind.init) { s.scheduler = k } else if inverting { s.scheduler = .ddim }
        if inverting && s.scheduler != .ddim {
            throw UnclipError.usage("decoding from an inverted latent needs --scheduler ddim (the inversion is DDIM's), not \(s.scheduler.rawValue)")
        }
        if let (w, h) = try? parsedSize() { s.width = w; s.height = h }
        try s.check(record.map { _ in "the embedding's sampler settings" } ?? "the sampler settings")
        return s
    }

    /// Picks the decoder and says so on stderr when the default fell back.
    func choose(_ command: String, model: ImageEmbedder?, records: [(name: String, record: EmbeddingFile)],
                component: KandinskyPipeline.Component = .decoder) throws -> DecoderChoice.Decision {
        let d = try DecoderChoice.choose(decoder, model: model, records: records, component: component)
        if let note = d.note { IO.note("unclip \(command): \(note)") }
        if d.kind == .patch, decoder == nil, size != nil { IO.note("unclip \(command): --size applies to the diffusion decoder only; ignored") }
        return d
    }

    /// PNG provenance of a diffusion-decoded image.
    static func text(_ s: DiffusionSettings, seed: UInt64) -> [String: String] {
        ["unclip:decoder": DecoderKind.diffusion.rawValue, "unclip:scheduler": s.scheduler.rawValue,
         "unclip:steps": String(s.steps), "unclip:guidance": String(s.guidance), "unclip:sample-seed": String(seed)]
    }

    /// What an `--embedding-only` record carries so that `unclip decode`
    /// samples it the same way.
    static func record(_ s: DiffusionSettings) -> [String: String] {
        ["scheduler": s.scheduler.rawValue, "steps": String(s.steps), "guidance": String(s.guidance)]
    }

    /// An edit's frame as an `--embedding-only` record: its vector at its raw
    /// length, its x_T and the sampler settings, so that `unclip decode`
    /// makes exactly the frame's image.
    static func record(_ f: KandinskyPipeline.EditFrame, editing base: EmbeddingFile, exemplar: Image?, edit: String,
                       settings: DiffusionSettings) -> EmbeddingFile {
        var r = EmbeddingEdit.record(editing: base, vector: f.target, exemplar: exemplar, edit: edit,
                                     provenance: record(settings).merging(["command": commandLineText]) { $1 })
        r.norm = f.norm
        r.latent = f.latent
        return r
    }
}

/// `--steps`: denoising steps of the diffusion decoder (textdiff, whose
/// `--steps` makes sequences, calls it `--denoise-steps`).
struct StepsOption: ParsableArguments {
    @Option(help: "Denoising steps of the diffusion decoder (default 25).")
    var steps: Int?

    func validate() throws {
        if let steps { guard (1...1000).contains(steps) else { throw ValidationError("--steps must be between 1 and 1000") } }
    }
}

/// The prior's sampling options, shared by `encode --prior`, `generate` and `inpaint --prompt`.
struct PriorOptions: ParsableArguments {
    @Option(help: "Denoising steps of the prior (default 25).")
    var priorSteps: Int?

    @Option(help: "Classifier-free guidance scale of the prior (default 4).")
    var priorGuidance: Float?

    func validate() throws {
        if let priorSteps { guard (2...1000).contains(priorSteps) else { throw ValidationError("--prior-steps must be between 2 and 1000") } }
        if let priorGuidance { guard priorGuidance.isFinite && (0...100).contains(priorGuidance) else { throw ValidationError("--prior-guidance must be between 0 and 100") } }
    }

    var given: Bool { priorSteps != nil || priorGuidance != nil }

    var settings: PriorSettings {
        var s = PriorSettings()
        if let priorSteps { s.steps = priorSteps }
        if let priorGuidance { s.guidance = priorGuidance }
        return s
    }
}
