import ArgumentParser
import Foundation
import UnclipKit

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install and list CLIP models and the diffusion decoder.",
        discussion: """
        Commands that need CLIP take --model DIR (a directory, or the name of an \
        installed model); without it they use $UNCLIP_MODEL, then \
        \(ModelStore.defaultModelName) from the store (\(ModelStore.root.path)). \
        Models come from the Hugging Face hub ($UNCLIP_HUB_ENDPOINT, default \
        \(ModelDownloader.defaultEndpoint)).
        """,
        subcommands: [ModelPull.self, ModelList.self, ModelPath.self]
    )
}

struct ModelPull: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a CLIP model from the Hugging Face hub into the model store.",
        discussion: """
        Fetches config.json, model.safetensors, vocab.json, merges.txt and \
        preprocessor_config.json. An interrupted download resumes where it stopped \
        when the same command is run again; every large file is checked against the \
        SHA-256 the hub announces before it is put in place. Prints the model's \
        directory on stdout.

        `unclip model pull \(ModelStore.pipelineName)` installs the diffusion decoder: \
        kandinsky-community/kandinsky-2-2-prior (its CLIP, ViT-bigG/14), -decoder and \
        -decoder-inpaint into one folder, each laid out as on the hub, the half-precision \
        weights where the hub has them. It prints the total size before it starts.
        """
    )

    @Argument(help: "Hub repository name, e.g. \(ModelStore.defaultModelName), or \(ModelStore.pipelineName) for the diffusion decoder.")
    var name: String = ModelStore.defaultModelName

    @Option(help: ArgumentHelp("With \(ModelStore.pipelineName): only these components (prior, decoder, inpaint), comma-separated.", valueName: "list"))
    var only: String?

    @Flag(help: "Show a progress line on stderr even when it is not a terminal.")
    var progress = false

    func components() throws -> [KandinskyPipeline.Component]? {
        guard let only else { return nil }
        guard name == ModelStore.pipelineName else {
            throw ValidationError("--only applies to \(ModelStore.pipelineName), not to a CLIP model")
        }
        let parts = only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let all = KandinskyPipeline.Component.allCases.map(\.rawValue)
        if let bad = parts.first(where: { !all.contains($0) }) ?? (parts.isEmpty ? "" : nil) {
            throw ValidationError("--only \(only): no component \"\(bad)\"; the components are \(all.joined(separator: ", "))")
        }
        return KandinskyPipeline.Component.allCases.filter { parts.contains($0.rawValue) }
    }

    func validate() throws { _ = try components() }

    func run() throws {
        try runReporting("model pull") {
            let downloader = ModelDownloader(showProgress: progress ? true : nil)
            let dir = name == ModelStore.pipelineName
                ? try downloader.pullPipeline(only: try components() ?? KandinskyPipeline.Component.allCases)
                : try downloader.pull(name)
            IO.note("\(name): installed in \(dir.path)")
            print(dir.path)
        }
    }
}

struct ModelList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the models in the model store: name, size and directory."
    )

    func run() throws {
        try runReporting("model list") {
            let models = ModelStore.installed()
            if models.isEmpty {
                IO.note("no models in \(ModelStore.root.path): install one with `unclip model pull \(ModelStore.defaultModelName)`")
                return
            }
            let width = models.map(\.name.count).max()!
            for m in models {
                let name = m.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let size = String(format: "%8.1f MB", Double(m.bytes) / 1_000_000)
                print("\(name)  \(size)  \(m.path.path)\(m.complete ? "" : "  (incomplete: rerun `unclip model pull \(m.name)`)")")
                for c in m.components {
                    let label = ("  " + c.name).padding(toLength: width, withPad: " ", startingAt: 0)
                    print("\(label)  \(String(format: "%8.1f MB", Double(c.bytes) / 1_000_000))  \(m.path.appendingPathComponent(KandinskyPipeline.Component(rawValue: c.name)!.folder).path)")
                }
            }
        }
    }
}

struct ModelPath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print the directory of the model other commands would use.",
        discussion: "With no NAME: $UNCLIP_MODEL, else \(ModelStore.defaultModelName) from the store."
    )

    @Argument(help: "A model directory or the name of an installed model.")
    var name: String?

    func run() throws {
        try runReporting("model path") {
            print(try ModelStore.resolve(name).path)
        }
    }
}
