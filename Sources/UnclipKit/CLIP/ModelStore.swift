import Foundation

/// Where CLIP models live and how a command finds one.
///
/// A model is a directory in the Hugging Face layout (`config.json`,
/// `model.safetensors`, `vocab.json`, `merges.txt`, optionally
/// `preprocessor_config.json`). `unclip model pull NAME` puts hub models in
/// the store, `$XDG_CACHE_HOME/unclip/models` (default `~/.cache/unclip/models`),
/// one folder per model with `/` spelled `--` (`openai--clip-vit-base-patch32`),
/// as the hub's own cache names repositories.
public enum ModelStore {
    public static let defaultModelName = "openai/clip-vit-base-patch32"
    /// The diffusion pipeline's name in the store (`KandinskyPipeline`).
    public static let pipelineName = "kandinsky-2.2"

    /// Files a model directory must have for image encoding.
    public static let requiredFiles = ["config.json", "model.safetensors"]
    /// Everything `model pull` fetches; the last two are needed for text only
    /// or optional.
    public static let hubFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"]
    public static let optionalFiles: Set<String> = ["preprocessor_config.json"]

    /// The store folder (not created here).
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        let cache: URL
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") {
            cache = URL(fileURLWithPath: x)
        } else {
            let home = env["HOME"] ?? NSHomeDirectory()
            cache = URL(fileURLWithPath: home).appendingPathComponent(".cache")
        }
        return cache.appendingPathComponent("unclip").appendingPathComponent("models")
    }

    /// `openai/clip-vit-base-patch32` → `openai--clip-vit-base-patch32`.
    public static func folderName(for name: String) -> String {
        name.replacingOccurrences(of: "/", with: "--")
    }

    /// `openai--clip-vit-base-patch32` → `openai/clip-vit-base-patch32`.
    public static func hubName(forFolder folder: String) -> String {
        folder.replacingOccurrences(of: "--", with: "/")
    }

    /// Whether `name` is a hub repository name (`owner/model` or `model`)
    /// rather than a path.
    public static func isHubName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        return parts.allSatisfy { p in
            !p.isEmpty && p != "." && p != ".." && !p.hasPrefix("-") && p.unicodeScalars.allSatisfy { allowed.contains($0) }
        }
    }

    /// The store directory for a hub name.
    public static func directory(for name: String) -> URL {
        root.appendingPathComponent(folderName(for: name))
    }

    /// The model directory to use: `option` (`--model`: a directory, or a
    /// name in the store), else `$UNCLIP_MODEL` (the same), else the default
    /// model in the store. Fails with the commands that would fix it.
    public static func resolve(_ option: String?) throws -> URL {
        if let option, !option.isEmpty { return try resolve(option, source: "--model") }
        if let env = ProcessInfo.processInfo.environment["UNCLIP_MODEL"], !env.isEmpty {
            return try resolve(env, source: "UNCLIP_MODEL")
        }
        if let dir = try installed(defaultModelName) { return dir }
        throw UnclipError.model(
            "no CLIP model installed: run `unclip model pull \(defaultModelName)` (about 600 MB, into \(root.path)), "
                + "or give --model DIR or set UNCLIP_MODEL to a directory with config.json and model.safetensors")
    }

    private static func resolve(_ value: String, source: String) throws -> URL {
        let expanded = value.hasPrefix("~/")
            ? (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + value.dropFirst(1)
            : value
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: expanded, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw UnclipError.model("\(source) \(value): is a file; give the model's directory (with config.json and model.safetensors)")
            }
            let url = URL(fileURLWithPath: expanded).standardizedFileURL
            try check(url, label: "\(source) \(value)")
            return url
        }
        if isHubName(value) {
            if let dir = try installed(value) { return dir }
            throw UnclipError.model(
                "\(source) \(value): no such directory and no such model in \(root.path): "
                    + "run `unclip model pull \(value)` to install it, or see `unclip model list`")
        }
        throw UnclipError.model("\(source) \(value): no such directory")
    }

    /// The store's folder for hub name `name`, checked, or nil when it is not installed.
    private static func installed(_ name: String) throws -> URL? {
        let dir = directory(for: name)
        guard FileManager.default.fileExists(atPath: dir.path) else { return nil }
        try check(dir, label: "model \(name) (\(dir.path))")
        return dir
    }

    /// Refuses a directory missing the files image encoding needs, naming them.
    static func check(_ dir: URL, label: String) throws {
        if KandinskyPipeline.isPipeline(dir) { return }
        let missing = requiredFiles.filter { !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
        if missing.isEmpty { return }
        let partial = hubFiles.contains { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0 + ".partial").path) }
        throw UnclipError.model(
            "\(label): missing \(missing.joined(separator: ", "))"
                + (partial ? "; a download was interrupted: rerun `unclip model pull` to finish it" : "; not a CLIP model directory"))
    }

    /// The store's pipeline folder, when one is installed.
    public static func installedPipeline() -> URL? {
        let dir = directory(for: pipelineName)
        return KandinskyPipeline.isPipeline(dir) ? dir : nil
    }

    /// The diffusion pipeline a command that needs one uses: `option`
    /// (`--model`), else `$UNCLIP_MODEL`, else the installed one; `purpose`
    /// ends the message when there is none.
    public static func pipeline(_ option: String?, for purpose: String) throws -> KandinskyPipeline {
        let env = ProcessInfo.processInfo.environment["UNCLIP_MODEL"] ?? ""
        if (option ?? "").isEmpty && env.isEmpty {
            guard let dir = installedPipeline() else {
                throw UnclipError.model("no diffusion pipeline installed, needed \(purpose): run `unclip model pull \(pipelineName)`, or give --model with a pipeline folder")
            }
            return try KandinskyPipeline(directory: dir)
        }
        let dir = try resolve(option)
        guard KandinskyPipeline.isPipeline(dir) else {
            throw UnclipError.usage("\(dir.path) is a CLIP model, not a diffusion pipeline, needed \(purpose): give --model \(pipelineName) (`unclip model pull \(pipelineName)`)")
        }
        return try KandinskyPipeline(directory: dir)
    }

    /// The embedder a model directory holds: a pipeline folder's CLIP, or a CLIP model.
    public static func load(_ directory: URL) throws -> ImageEmbedder & TextEmbedder {
        KandinskyPipeline.isPipeline(directory) ? try KandinskyPipeline(directory: directory) : try CLIPModel(directory: directory)
    }

    /// One installed model, for `unclip model list`.
    public struct Installed: Sendable, Equatable {
        public var name: String
        public var path: URL
        public var bytes: Int64
        /// False when required files are missing (an interrupted pull).
        public var complete: Bool
        /// A pipeline's components (`KandinskyPipeline.Component`), with their
        /// sizes; empty for a CLIP model.
        public var components: [(name: String, bytes: Int64)] = []

        public static func == (a: Installed, b: Installed) -> Bool {
            a.name == b.name && a.path == b.path && a.bytes == b.bytes && a.complete == b.complete
                && a.components.map(\.name) == b.components.map(\.name) && a.components.map(\.bytes) == b.components.map(\.bytes)
        }
    }

    /// Bytes under `dir`, and whether a `.partial` download is among them.
    static func usage(_ dir: URL) -> (bytes: Int64, partial: Bool) {
        var bytes: Int64 = 0, partial = false
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
        while let f = e?.nextObject() as? URL {
            guard let v = try? f.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), v.isRegularFile == true else { continue }
            bytes += Int64(v.fileSize ?? 0)
            if f.lastPathComponent.hasSuffix(".partial") { partial = true }
        }
        return (bytes, partial)
    }

    /// Models in the store, sorted by name.
    public static func installed() -> [Installed] {
        let fm = FileManager.default
        guard let folders = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        var out = [Installed]()
        for folder in folders.sorted() where !folder.hasPrefix(".") {
            let dir = root.appendingPathComponent(folder)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else { continue }
            let (bytes, partial) = usage(dir)
            if KandinskyPipeline.isPipeline(dir) {
                let parts = KandinskyPipeline.Component.allCases.filter { fm.fileExists(atPath: dir.appendingPathComponent($0.folder).path) }
                out.append(Installed(name: hubName(forFolder: folder), path: dir, bytes: bytes, complete: !partial,
                                     components: parts.map { ($0.rawValue, usage(dir.appendingPathComponent($0.folder)).bytes) }))
                continue
            }
            let complete = requiredFiles.allSatisfy { fm.fileExists(atPath: dir.appendingPathComponent($0).path) }
            out.append(Installed(name: hubName(forFolder: folder), path: dir, bytes: bytes, complete: complete))
        }
        return out
    }
}
