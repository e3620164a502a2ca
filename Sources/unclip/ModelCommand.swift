import ArgumentParser
import Foundation
import UnclipKit

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install and list CLIP models.",
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
        """
    )

    @Argument(help: "Hub repository name, e.g. \(ModelStore.defaultModelName).")
    var name: String = ModelStore.defaultModelName

    @Flag(help: "Show a progress line on stderr even when it is not a terminal.")
    var progress = false

    func run() throws {
        try runReporting("model pull") {
            let downloader = ModelDownloader(showProgress: progress ? true : nil)
            let dir = try downloader.pull(name)
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
