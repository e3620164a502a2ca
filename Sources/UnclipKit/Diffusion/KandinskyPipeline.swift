import Foundation

/// A Kandinsky 2.2 pipeline folder as `unclip model pull kandinsky-2.2`
/// lays it out: the hub's three repositories side by side, each exactly as
/// on the hub.
///
///     prior/            image_encoder/ text_encoder/ tokenizer/ image_processor/
///     decoder/          unet/ movq/ scheduler/
///     decoder-inpaint/  unet/ movq/ scheduler/
///
/// Any component may be absent (`model pull --only`); what a command needs
/// and lacks is an error that names it. As an embedder it is the CLIP the
/// decoder was trained with (ViT-bigG/14 in the real one): unit vectors
/// with their raw lengths, which the decoder is conditioned on.
public final class KandinskyPipeline: ImageEmbedder, TextEmbedder, @unchecked Sendable {
    public enum Component: String, CaseIterable, Sendable {
        case prior, decoder, inpaint

        /// The folder inside the pipeline.
        public var folder: String { self == .inpaint ? "decoder-inpaint" : rawValue }
        /// The hub repository it comes from.
        public var repository: String {
            switch self {
            case .prior: return "kandinsky-community/kandinsky-2-2-prior"
            case .decoder: return "kandinsky-community/kandinsky-2-2-decoder"
            case .inpaint: return "kandinsky-community/kandinsky-2-2-decoder-inpaint"
            }
        }
    }

    public let directory: URL
    public let modelName: String
    /// The image encoder's fingerprint; without one (a decoder-only
    /// install) embeddings are matched by model name alone.
    public let modelHash: String
    public let imageEncoder: CLIPImageEncoder?

    private let lock = NSLock()
    private var cache: [String: Any] = [:]

    /// Whether `directory` is a pipeline folder rather than a CLIP model.
    public static func isPipeline(_ directory: URL) -> Bool {
        Component.allCases.contains { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.folder).path) }
            && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
    }

    public init(directory: URL) throws {
        self.directory = directory
        modelName = CLIPModel.name(of: directory)
        let enc = directory.appendingPathComponent("prior/image_encoder")
        if FileManager.default.fileExists(atPath: enc.path) {
            let e = try CLIPImageEncoder(directory: enc)
            imageEncoder = e
            modelHash = e.modelHash
        } else {
            imageEncoder = nil
            modelHash = ""
        }
    }

    public func has(_ c: Component) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(c.folder).path)
    }

    /// The folder of component `c`, or an error that says how to get it.
    public func folder(_ c: Component, for purpose: String) throws -> URL {
        guard has(c) else {
            throw UnclipError.model("\(directory.path): no \(c.folder)/, needed \(purpose): run `unclip model pull \(ModelStore.pipelineName) --only \(c.rawValue)`")
        }
        return directory.appendingPathComponent(c.folder)
    }

    func cached<T>(_ key: String, _ make: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        if let v = cache[key] as? T { return v }
        let v = try make()
        cache[key] = v
        return v
    }

    public func decoder() throws -> KandinskyDecoder {
        let dir = try folder(.decoder, for: "to decode")
        return try cached("decoder") { try KandinskyDecoder(directory: dir) }
    }

    public func inpaintDecoder() throws -> KandinskyDecoder {
        let dir = try folder(.inpaint, for: "to inpaint")
        return try cached("inpaint") { try KandinskyDecoder(directory: dir) }
    }

    func requireImageEncoder() throws -> CLIPImageEncoder {
        guard let e = imageEncoder else {
            _ = try folder(.prior, for: "to encode images")
            throw UnclipError.model("\(directory.path): no prior/image_encoder/, needed to encode images: run `unclip model pull \(ModelStore.pipelineName) --only prior`")
        }
        return e
    }

    public func preprocessor() throws -> CLIPImagePreprocessor {
        let enc = try requireImageEncoder()
        return try cached("preprocessor") {
            let p = try CLIPImagePreprocessor(modelDirectory: directory.appendingPathComponent("prior/image_processor"))
            guard p.cropSize == enc.inputResolution else {
                throw UnclipError.model("\(directory.path): prior/image_processor crops to \(p.cropSize) pixels but the image encoder reads \(enc.inputResolution)")
            }
            return p
        }
    }

    public func textEncoder() throws -> CLIPTextEncoder {
        let dir = try folder(.prior, for: "to encode text").appendingPathComponent("text_encoder")
        return try cached("text") { try CLIPTextEncoder(directory: dir) }
    }

    public func tokenizer() throws -> CLIPTokenizer {
        let text = try textEncoder()
        let dir = directory.appendingPathComponent("prior/tokenizer")
        return try cached("tokenizer") {
            let vocab = dir.appendingPathComponent("vocab.json").path, merges = dir.appendingPathComponent("merges.txt").path
            for f in [vocab, merges] where !FileManager.default.fileExists(atPath: f) {
                throw UnclipError.model("\(dir.path): no \((f as NSString).lastPathComponent), needed to encode text: run `unclip model pull \(ModelStore.pipelineName) --only prior`")
            }
            return try CLIPTokenizer(vocabPath: vocab, mergesPath: merges, contextLength: text.config.text.maxPositions)
        }
    }

    // MARK: - ImageEmbedder, TextEmbedder

    public var inputResolution: Int { imageEncoder?.inputResolution ?? 0 }

    /// The negative embedding of classifier-free guidance (the encoder's
    /// output for all-zero pixel values), computed once.
    public func negativeEmbedding() throws -> [Float] {
        let enc = try requireImageEncoder()
        return try cached("negative") { try enc.zeroEmbedding() }
    }

    public func embed(images: [Image]) throws -> [[Float]] {
        try embedKeepingNorms(images: images).map(\.vector)
    }

    public func embedKeepingNorms(images: [Image]) throws -> [(vector: [Float], norm: Float?)] {
        let enc = try requireImageEncoder()
        let pixels = try preprocessor().pixels(images)   // [N, 3, S, S]
        return try enc.embed(pixels: pixels, count: images.count).map { try CLIPModel.normalisedKeepingNorm($0) }
    }

    public func embed(texts: [String]) throws -> [[Float]] {
        try embedKeepingNorms(texts: texts).map(\.vector)
    }

    public func embedKeepingNorms(texts: [String]) throws -> [(vector: [Float], norm: Float?)] {
        let tok = try tokenizer()
        return try textEncoder().embed(tokenIDs: texts.map { tok.encode($0) }).map { try CLIPModel.normalisedKeepingNorm($0) }
    }

    /// Whether `record` was made by this pipeline's CLIP, the only one its
    /// decoder was trained with.
    public func made(_ record: EmbeddingFile) -> Bool {
        modelHash.isEmpty ? record.model == modelName : record.modelHash == modelHash
    }
}
