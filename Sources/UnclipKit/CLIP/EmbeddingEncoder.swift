import Foundation

/// What `unclip encode` does, without the command line: inputs in, `.emb`
/// records out, with the provenance every record carries.
public struct EmbeddingEncoder {
    public let model: ImageEmbedder & TextEmbedder
    /// Longest side of the exemplar stored with image embeddings.
    public var exemplarSize: Int
    public var maxPixels: Int
    /// Extra metadata on every record (e.g. `command`).
    public var provenance: [String: String]

    public init(model: ImageEmbedder & TextEmbedder, exemplarSize: Int = 512,
                maxPixels: Int = ImageCodec.defaultMaxPixels, provenance: [String: String] = [:]) {
        self.model = model; self.exemplarSize = exemplarSize
        self.maxPixels = maxPixels; self.provenance = provenance
    }

    /// One input file: `name` (the path as given, or "stdin") starts error
    /// messages; `source`, recorded in the file, defaults to its last
    /// component so records do not carry the encoding machine's folders.
    public struct Input {
        public var name: String
        public var source: String
        public var bytes: [UInt8]
        public init(name: String, source: String? = nil, bytes: [UInt8]) {
            self.name = name
            self.source = source ?? (name as NSString).lastPathComponent
            self.bytes = bytes
        }
    }

    /// Decodes and embeds images as one batch, in order.
    public func encode(images inputs: [Input]) throws -> [EmbeddingFile] {
        // Decoding and hashing are per-image and single-threaded, so they run
        // spread over the BLAS threads, two tasks per image so that even a
        // single image keeps two threads busy; the first failing input, in
        // order, is reported.
        var decoded = [Result<Image, Error>?](repeating: nil, count: inputs.count)
        var hashes = [String](repeating: "", count: inputs.count)
        let lock = NSLock()
        Parallel.rows(2 * inputs.count, minRows: 1) { range in
            for task in range {
                let i = task / 2
                if task % 2 == 1 {
                    let h = SHA256.hex(inputs[i].bytes)
                    lock.lock(); hashes[i] = h; lock.unlock()
                    continue
                }
                let r = Result { try ImageCodec.decode(inputs[i].bytes, name: inputs[i].name, maxPixels: maxPixels).image }
                lock.lock(); decoded[i] = r; lock.unlock()
            }
        }
        let images = try decoded.map { try $0!.get() }
        // The exemplars are stored, never embedded: they are made on a thread
        // of their own while CLIP preprocesses (one thread per image) and runs,
        // rather than before, on the one-image path's critical path.
        let exemplars = ExemplarJob(images: images, maxSide: exemplarSize)
        let vectors = try model.embedKeepingNorms(images: images)
        let items = zip(images, exemplars.wait()).enumerated().map { i, pair in
            (image: pair.0, hash: hashes[i], exemplar: pair.1)
        }
        return zip(inputs, zip(items, vectors)).map { input, pair in
            let (item, v) = pair
            var extra = provenance
            extra["source_size"] = "\(item.image.width)x\(item.image.height)"
            return EmbeddingFile(embedding: v.vector, exemplar: item.exemplar, kind: .image,
                                 model: model.modelName, modelHash: model.modelHash, source: input.source,
                                 sourceHash: item.hash, resolution: model.inputResolution, extra: extra, norm: v.norm)
        }
    }

    /// Captions → text records (no exemplar); the caption is the source.
    public func encode(texts: [String]) throws -> [EmbeddingFile] {
        let vectors = try model.embedKeepingNorms(texts: texts)
        return zip(texts, vectors).map { text, v in
            EmbeddingFile(embedding: v.vector, exemplar: nil, kind: .text, model: model.modelName, modelHash: model.modelHash,
                          source: text, sourceHash: SHA256.hex(Array(text.utf8)), resolution: model.inputResolution,
                          extra: provenance, norm: v.norm)
        }
    }
}

/// Exemplars made in the background (`EmbeddingEncoder.encode(images:)`).
private final class ExemplarJob: @unchecked Sendable {
    private var made: [Image] = []
    private let group = DispatchGroup()

    init(images: [Image], maxSide: Int) {
        DispatchQueue.global().async(group: group) { [self] in
            made = images.map { Exemplar.make($0, maxSide: maxSide) }
        }
    }

    /// The exemplars, in order, once made.
    func wait() -> [Image] {
        group.wait()
        return made
    }
}
