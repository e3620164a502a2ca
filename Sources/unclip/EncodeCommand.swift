import ArgumentParser
import Foundation
import UnclipKit

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode images (or --text captions) to CLIP embedding files.",
        discussion: """
        Each input becomes one embedding record: a CLIP image embedding plus the image itself \
        at working size (the exemplar the decoder draws from), or, for --text, a text embedding. \
        Records go to:
          -o PATTERN   one file per record: `%d` is replaced by 0, 1, 2, ... (as in pamsplit); \
        without it, a name gets -0, -1, ... inserted when there are several records; \
        -o - writes a stream to stdout;
          no -o, stdout a pipe or file: a stream of records to stdout, so
            unclip encode a.jpg | unclip vary -o var-%d.png
          no -o, stdout a terminal: STEM.emb in the current folder (text-N.emb for captions).
        With no IMAGE and no --text, the image is read from stdin.

        With --prior, each --text caption becomes an image embedding instead: the diffusion \
        pipeline's prior (`unclip model pull kandinsky-2.2`) samples the CLIP image embedding \
        of a picture matching the caption, which every decoding subcommand accepts:
          unclip encode --text "a lighthouse at dusk" --prior | unclip vary -n 2 -o v-%d.png
        """
    )

    @Argument(help: ArgumentHelp("Images to encode (PNG or JPEG; - for stdin).", valueName: "image"))
    var images: [String] = []

    @Option(name: .customLong("text"), help: ArgumentHelp("A caption to encode as a text embedding (repeatable).", valueName: "caption"))
    var texts: [String] = []

    @Flag(help: "Turn each --text caption into an image embedding with the diffusion pipeline's prior.")
    var prior = false

    @OptionGroup var priorOptions: PriorOptions

    @Option(help: "Random seed of the prior (caption i uses seed + i); the same seed gives the same embedding.")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file or pattern (`%d` numbers the records; - for stdout).", valueName: "pattern"))
    var output: String?

    @Option(help: ArgumentHelp("Longest side of the stored exemplar; larger images are shrunk by area averaging, smaller ones kept as they are.", valueName: "pixels"))
    var exemplarSize: Int = 512

    @Option(help: ArgumentHelp("Images per forward pass: larger batches are faster per image and use more memory.", valueName: "n"))
    var batch: Int = 8

    @OptionGroup var clip: CLIPOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard exemplarSize >= 1 else { throw ValidationError("--exemplar-size must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        if images.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be given only once") }
        if prior && texts.isEmpty { throw ValidationError("--prior turns --text captions into image embeddings: give --text") }
        if !prior && priorOptions.given { throw ValidationError("--prior-steps and --prior-guidance need --prior") }
    }

    func run() throws {
        try runReporting("encode") {
            let inputs = images.isEmpty && texts.isEmpty ? ["-"] : images
            let total = inputs.count + texts.count
            let destination = try Destination(output: output, inputs: inputs, texts: texts.count)

            let model: ImageEmbedder & TextEmbedder
            if prior {
                if let t = clip.threads { BLAS.threads = t }
                model = try ModelStore.pipeline(clip.model, for: "by --prior")
            } else {
                model = try clip.load()
            }
            if let m = model as? CLIPModel {
                m.batchSize = batch
                if !inputs.isEmpty { m.prefetchVisionWeights() }
            }
            let encoder = EmbeddingEncoder(model: model, exemplarSize: exemplarSize, maxPixels: common.maxPixels,
                                           provenance: ["command": commandLineText])
            let progress = Progress("encode", enabled: common.progress ? true : nil)
            var done = 0
            // Read, decode and embed `batch` images at a time so memory stays bounded with many inputs.
            var start = 0
            while start < inputs.count {
                let group = inputs[start..<min(start + batch, inputs.count)]
                let records = try encoder.encode(images: try group.map {
                    EmbeddingEncoder.Input(name: IO.displayName($0), bytes: try IO.read($0))
                })
                for r in records { try destination.write(r, index: done, total: total); done += 1 }
                progress.update(done, of: total)
                start += batch
            }
            if let pipeline = model as? KandinskyPipeline, prior {
                let settings = priorOptions.settings
                for (i, text) in texts.enumerated() {
                    let (r, truncated) = try pipeline.priorRecord(caption: text, settings: settings, seed: seed &+ UInt64(i),
                                                                  provenance: ["command": commandLineText]) { step, steps in
                        progress.step(i * steps + step, of: texts.count * steps, "prior steps")
                    }
                    if truncated {
                        IO.note("unclip encode: note: --text \(i + 1) is longer than the \(try pipeline.tokenizer().contextLength) tokens the text encoder reads; the rest is ignored")
                    }
                    try destination.write(r, index: done, total: total); done += 1
                }
            } else if !texts.isEmpty {
                for r in try encoder.encode(texts: texts) { try destination.write(r, index: done, total: total); done += 1 }
                progress.update(done, of: total)
            }
            progress.finish()
        }
    }

    /// Where each record goes, decided before any work so a bad -o fails fast.
    enum Destination {
        case stream
        case files([String], announce: Bool)

        init(output: String?, inputs: [String], texts: Int) throws {
            let total = inputs.count + texts
            if output == "-" {
                // Checked before the model loads, rather than after the first record is computed.
                if IO.isTerminal(1) { throw UnclipError.usage("refusing to write binary data to a terminal: use -o FILE or a pipe") }
                self = .stream
                return
            }
            if let pattern = output {
                self = .files((0..<total).map { IO.expand(pattern: pattern, index: $0, total: total) }, announce: false)
                return
            }
            if !IO.isTerminal(1) { self = .stream; return }
            var names = inputs.map { path -> String in
                let stem = path == "-" ? "stdin" : URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                return stem + ".emb"
            }
            names += (0..<texts).map { "text-\($0 + 1).emb" }
            var seen: [String: Int] = [:]
            for (i, n) in names.enumerated() {
                if let j = seen[n] {
                    let a = j < inputs.count ? inputs[j] : "--text \(j - inputs.count + 1)"
                    let b = i < inputs.count ? inputs[i] : "--text \(i - inputs.count + 1)"
                    throw UnclipError.usage("\(a) and \(b) would both be written to \(n): give -o with %d")
                }
                seen[n] = i
            }
            self = .files(names, announce: true)
        }

        func write(_ record: EmbeddingFile, index: Int, total: Int) throws {
            switch self {
            case .stream:
                try IO.write(record.serialize(), to: "-")
            case let .files(names, announce):
                try IO.write(record.serialize(), to: names[index])
                if announce { IO.note("unclip encode: wrote \(names[index])") }
            }
        }
    }
}
