import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A CLIP model loaded from a Hugging Face folder (config.json +
/// model.safetensors): both towers, producing unit vectors in the joint space.
public final class CLIPModel: @unchecked Sendable {
    public let directory: URL
    public let config: CLIPConfig
    public let weights: CLIPWeights
    public let vision: VisionTransformer
    public let text: TextTransformer
    /// The hub name for a model in the store ("openai/clip-vit-base-patch32"),
    /// else the folder's name.
    public let modelName: String
    public let modelHash: String
    /// Images per forward pass in `embed(images:)`: bounds activation memory
    /// (ViT-B/32: ~1 MB per image) while keeping GEMMs large enough to be efficient.
    public var batchSize = 16

    private let lock = NSLock()
    private var cachedPreprocessor: CLIPImagePreprocessor?
    private var cachedTokenizer: CLIPTokenizer?

    public init(directory: URL) throws {
        self.directory = directory
        config = try CLIPConfig.load(directory: directory)
        guard config.towers == .both else {
            throw UnclipError.model("\(directory.path): a single CLIP \(config.towers.rawValue) tower (\(config.towers == .vision ? "CLIPVisionModelWithProjection" : "CLIPTextModelWithProjection")), not a two-tower CLIP model")
        }
        let path = directory.appendingPathComponent("model.safetensors").path
        weights = try CLIPWeights(path: path, config: config)
        vision = VisionTransformer(weights, config: config)
        text = TextTransformer(weights, config: config)
        modelName = Self.name(of: directory)
        modelHash = Self.fingerprint(of: weights.file)
    }

    static func name(of directory: URL) -> String {
        let dir = directory.standardizedFileURL
        if dir.deletingLastPathComponent().path == ModelStore.root.standardizedFileURL.path {
            return ModelStore.hubName(forFolder: dir.lastPathComponent)
        }
        return dir.lastPathComponent
    }

    /// Starts faulting in the image tower's weights in the background
    /// (`CLIPWeights.prefetch`): call before reading and decoding images.
    public func prefetchVisionWeights() {
        weights.prefetch(CLIPWeightMap.vision(config).map(\.name))
    }

    public var inputResolution: Int { config.vision.imageSize }
    public var dimension: Int { config.projectionDim }

    /// pixels [N, C, S, S] (already normalised) → [N][Pdim] unit vectors, in batches of `batchSize`.
    public func embed(pixels: [Float], count: Int) throws -> [[Float]] {
        try embedKeepingNorms(pixels: pixels, count: count).map(\.vector)
    }

    /// The same, with each vector's length before normalising.
    public func embedKeepingNorms(pixels: [Float], count: Int) throws -> [(vector: [Float], norm: Float)] {
        let per = vision.inputCount
        guard pixels.count == count * per else {
            throw UnclipError.failure("expected \(count) × \(per) pixel values, got \(pixels.count)")
        }
        var out: [(vector: [Float], norm: Float)] = []
        out.reserveCapacity(count)
        try pixels.withUnsafeBufferPointer { px in
            var start = 0
            while start < count {
                let n = min(max(batchSize, 1), count - start)
                let y = vision.forward(pixels: px.baseAddress! + start * per, batch: n)   // [n, Pdim]
                for i in 0..<n { out.append(try Self.normalisedKeepingNorm(y, row: i)) }
                start += n
            }
        }
        return out
    }

    /// Token-id sequences (BOS … EOS) → [N][Pdim] unit vectors.
    public func embed(tokenIDs: [[Int]]) throws -> [[Float]] {
        let y = try text.forward(tokens: tokenIDs)   // [N, Pdim]
        return try (0..<tokenIDs.count).map { try Self.normalised(y, row: $0) }
    }

    /// Read on first use: a folder without vocab.json still encodes images.
    public func preprocessor() throws -> CLIPImagePreprocessor {
        lock.lock(); defer { lock.unlock() }
        if let p = cachedPreprocessor { return p }
        let p = try CLIPImagePreprocessor(modelDirectory: directory)
        cachedPreprocessor = p
        return p
    }

    public func tokenizer() throws -> CLIPTokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = cachedTokenizer { return t }
        let vocab = directory.appendingPathComponent("vocab.json").path
        let merges = directory.appendingPathComponent("merges.txt").path
        for f in [vocab, merges] where !FileManager.default.fileExists(atPath: f) {
            throw UnclipError.model("\(directory.path): no \((f as NSString).lastPathComponent), needed to encode text (`unclip model pull` fetches it)")
        }
        let t = try CLIPTokenizer(vocabPath: vocab, mergesPath: merges, contextLength: config.text.maxPositions)
        cachedTokenizer = t
        return t
    }

    static func normalised(_ y: Tensor, row: Int) throws -> [Float] {
        try normalisedKeepingNorm(y, row: row).vector
    }

    static func normalisedKeepingNorm(_ y: Tensor, row: Int) throws -> (vector: [Float], norm: Float) {
        try normalisedKeepingNorm(Array(UnsafeBufferPointer(start: y.row(row), count: y.cols)))
    }

    /// `v` at unit length, and its length before.
    static func normalisedKeepingNorm(_ v: [Float]) throws -> (vector: [Float], norm: Float) {
        let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        guard norm.isFinite, norm > 0 else { throw UnclipError.model("the model produced a zero or non-finite embedding") }
        return (v.map { Float(Double($0) / norm) }, Float(norm))
    }

    /// The weights' identity recorded in every `.emb` file, so embeddings
    /// from different models are never mixed.
    ///
    /// A full SHA-256 of a 600 MB checkpoint costs seconds on every run
    /// (more than encoding an image), and a cached full hash needs a writable
    /// sidecar and invalidation rules. Instead this is the SHA-256 of the
    /// safetensors header (every tensor's name, type, shape and offsets),
    /// the file size, and 256 evenly spaced 4 KiB samples of the data
    /// (1 MiB read, a few milliseconds). Two different trainings or
    /// fine-tunes differ in essentially every weight, so they differ in the
    /// samples; the price is that a hand edit of a few weights between
    /// samples would go unnoticed, which is acceptable for an identity that
    /// guards against mixing embedding spaces, not against tampering. (So it
    /// is not the digest the hub lists for the file.)
    ///
    /// The samples are read through the weights' mapping, not with `read`:
    /// on a cold cache a `read` would put small folios into every 2 MiB of
    /// the file, and the kernel could then never cache the weights in the
    /// large folios that make mapping them cheap (`SafeTensors(mappingFile:)`).
    /// Each sample is unmapped once read, so that an image-only run maps
    /// only the image tower. (The digest is hashed once more before it is
    /// written out, as it always was, so records made earlier keep matching.)
    public static func fingerprint(of file: SafeTensors) -> String {
        let bytes = file.allBytes
        let size = bytes.count
        func slice(_ offset: Int, _ n: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[offset..<min(size, offset + n)])
        }
        var headerLen = 0
        for i in 0..<min(8, size) { headerLen |= Int(bytes[i]) << (8 * i) }
        var h = SHA256()
        h.update(Array("unclip-weights-fingerprint-v1 \(size)\n".utf8))
        let dataStart = min(size, 8 + headerLen)
        h.update(slice(0, dataStart))
        let chunk = 4096, samples = 256
        let dataLen = size - dataStart
        if dataLen <= chunk * samples {
            h.update(slice(dataStart, dataLen))
        } else {
            for i in 0..<samples {
                let offset = dataStart + (dataLen - chunk) * i / (samples - 1)
                h.update(slice(offset, chunk))
                file.unmapPages(holding: offset..<offset + chunk)
            }
        }
        return SHA256.hex(h.finalize())
    }
}
