import Foundation

/// An `.emb` file: a safetensors container (so numpy and PyTorch read it
/// directly) holding a CLIP embedding and, for images, the exemplar pixels
/// the decoder draws from. The pair plays the role of unCLIP's (z_i, x_T)
/// latent (Ramesh et al. 2022, §2).
///
/// Layout (format version 2; version 1 lacks `norm` and `latent` and still reads):
/// - tensor `embedding`: F32 [D], L2-normalised;
/// - tensor `exemplar` (image kind only): U8 [H, W, 3], the source at working
///   resolution; required in version 1, optional in 2, where an image
///   embedding may come from no photo (a diffusion prior's output, a latent
///   written for the diffusion decoder);
/// - tensor `latent` (optional): F32 [C, h, w], a diffusion decoder's
///   initial latent x_T, the second half of unCLIP's bipartite latent
///   (z_i, x_T); decoding starts from it when present;
/// - `__metadata__`: `format` = "unclip.embedding", `format_version` = "2",
///   `model`, `model_sha256`, `kind` ("image" or "text"), `source`,
///   `source_sha256`, `resolution` (CLIP input size), `dim`, `norm` (the
///   embedding's length before normalising, as a decimal; optional: a
///   diffusion decoder is conditioned on the unnormalised vector), plus
///   free-form provenance (`seed`, `command`, `edit`).
///
/// Several records concatenated form a stream (what `unclip encode` writes
/// to a pipe); each record's length is known from its own header.
public struct EmbeddingFile: Sendable, Equatable {
    public static let formatName = "unclip.embedding"
    public static let formatVersion = 2
    /// Versions this build reads: 1 is 2 without `norm` and `latent`.
    public static let readableVersions = 1...2

    public enum Kind: String, Sendable { case image, text }

    public var embedding: [Float]
    public var exemplar: Image?
    public var kind: Kind
    public var model: String
    public var modelHash: String
    public var source: String
    public var sourceHash: String
    public var resolution: Int
    /// Provenance that does not change what the file means.
    public var extra: [String: String]
    /// The embedding's length before it was normalised, where known.
    public var norm: Float?
    /// A diffusion decoder's initial latent x_T.
    public var latent: Latent?
    /// The format version the record was read as (written records are always `formatVersion`).
    public var version: Int = formatVersion

    /// F32 [C, h, w].
    public struct Latent: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) {
            precondition(shape.count == 3 && shape.reduce(1, *) == values.count, "a latent is [C, h, w]")
            self.shape = shape; self.values = values
        }
    }

    public init(embedding: [Float], exemplar: Image?, kind: Kind, model: String, modelHash: String,
                source: String, sourceHash: String, resolution: Int, extra: [String: String] = [:],
                norm: Float? = nil, latent: Latent? = nil) {
        self.embedding = embedding; self.exemplar = exemplar; self.kind = kind
        self.model = model; self.modelHash = modelHash; self.source = source
        self.sourceHash = sourceHash; self.resolution = resolution; self.extra = extra
        self.norm = norm; self.latent = latent
    }

    /// The unnormalised vector a diffusion decoder is conditioned on: the unit vector times `norm`.
    public var rawEmbedding: [Float]? { norm.map { n in embedding.map { $0 * n } } }

    public var dimension: Int { embedding.count }

    public func serialize() -> [UInt8] {
        var meta = extra
        meta["format"] = Self.formatName
        meta["format_version"] = String(Self.formatVersion)
        meta["model"] = model
        meta["model_sha256"] = modelHash
        meta["kind"] = kind.rawValue
        meta["source"] = source
        meta["source_sha256"] = sourceHash
        meta["resolution"] = String(resolution)
        meta["dim"] = String(embedding.count)
        if let norm { meta["norm"] = String(norm) }   // shortest decimal that reads back as the same float
        var entries = [SafeTensors.Entry.f32("embedding", embedding, shape: [embedding.count])]
        // Float tensors before the bytes, so that every one stays 4-byte aligned whatever the exemplar's size.
        if let latent { entries.append(.f32("latent", latent.values, shape: latent.shape)) }
        if let ex = exemplar {
            let rgb = ex.rgb()
            entries.append(.init(name: "exemplar", dtype: .U8, shape: [rgb.height, rgb.width, 3], data: rgb.pixels))
        }
        return SafeTensors.serialize(entries, metadata: meta)
    }

    /// The message for input that is not an embedding file at all.
    public static func wrongKindMessage(_ kind: FileKind, name: String) -> String? {
        switch kind {
        case .embedding: return nil
        case .empty: return "\(name): empty input, expected an embedding file (run `unclip encode` first)"
        case let k where k.isImage:
            return "\(name): this is a \(k.rawValue), not an embedding file: run `unclip encode` first"
        case .safetensors:
            return "\(name): this is a safetensors file but not an unclip embedding (no \"format\": \"\(formatName)\" in its metadata)"
        default:
            return "\(name): not an embedding file (unknown format): run `unclip encode` first"
        }
    }

    /// Reads every record of a file or stream (`-` for stdin).
    public static func readAll(_ path: String) throws -> [EmbeddingFile] {
        let bytes = try IO.read(path)
        return try parseStream(bytes, name: IO.displayName(path))
    }

    /// Reads the first record; the usual case for single-input commands.
    public static func read(_ path: String) throws -> EmbeddingFile {
        try readAll(path)[0]
    }

    public static func parseStream(_ bytes: [UInt8], name: String) throws -> [EmbeddingFile] {
        if let msg = wrongKindMessage(FileKind.sniff(bytes), name: name) { throw UnclipError.badInput(msg) }
        var out: [EmbeddingFile] = []
        var offset = 0
        while offset < bytes.count {
            let recName = out.isEmpty ? name : "\(name) (record \(out.count + 1))"
            let st = try SafeTensors(bytes: bytes, offset: offset, name: recName)
            out.append(try parse(st))
            offset += st.byteCount
        }
        return out
    }

    public static func parse(_ bytes: [UInt8], name: String) throws -> EmbeddingFile {
        if let msg = wrongKindMessage(FileKind.sniff(bytes), name: name) { throw UnclipError.badInput(msg) }
        return try parse(SafeTensors(bytes: bytes, name: name))
    }

    static func parse(_ st: SafeTensors) throws -> EmbeddingFile {
        let name = st.sourceName
        let m = st.metadata
        func bad(_ s: String) -> UnclipError { .badInput("\(name): \(s)") }
        guard m["format"] == formatName else {
            throw bad("not an unclip embedding (metadata \"format\" is \(m["format"].map { "\"\($0)\"" } ?? "missing"))")
        }
        guard let vs = m["format_version"], let v = Int(vs) else { throw bad("missing format_version") }
        guard readableVersions.contains(v) else {
            throw bad("embedding format version \(v) is not supported by this unclip (it reads versions \(readableVersions.lowerBound)–\(readableVersions.upperBound)); re-encode the image")
        }
        guard let kindS = m["kind"], let kind = Kind(rawValue: kindS) else {
            throw bad("metadata \"kind\" must be \"image\" or \"text\", found \(m["kind"] ?? "nothing")")
        }
        guard let t = st.tensors["embedding"] else { throw bad("no \"embedding\" tensor") }
        guard t.dtype == .F32, t.shape.count == 1, t.shape[0] > 0 else {
            throw bad("\"embedding\" must be F32 with shape [D], found \(t.dtype.rawValue)\(t.shape)")
        }
        let e = try st.floats("embedding")
        if let i = e.firstIndex(where: { !$0.isFinite }) {
            throw bad("the embedding has a non-finite value (\(e[i])) at index \(i)")
        }
        let norm = e.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        guard abs(norm - 1) < 1e-3 else {
            throw bad(String(format: "the embedding is not unit length (norm %.6f)", norm))
        }
        if let d = m["dim"], Int(d) != e.count { throw bad("metadata says dim \(d) but the embedding has \(e.count) values") }
        var exemplar: Image?
        if let x = st.tensors["exemplar"] {
            guard x.dtype == .U8, x.shape.count == 3, x.shape[2] == 3, x.shape[0] > 0, x.shape[1] > 0 else {
                throw bad("\"exemplar\" must be U8 with shape [H, W, 3], found \(x.dtype.rawValue)\(x.shape)")
            }
            exemplar = Image(width: x.shape[1], height: x.shape[0], channels: 3, pixels: try st.bytes("exemplar"))
        }
        if kind == .image && exemplar == nil && v < 2 { throw bad("an image embedding must carry an \"exemplar\" tensor") }
        var rawNorm: Float?, latent: Latent?
        if v >= 2 {
            if let s = m["norm"] {
                guard let n = Float(s), n.isFinite, n > 0 else { throw bad("metadata \"norm\" must be a positive number, found \"\(s)\"") }
                rawNorm = n
            }
            if let x = st.tensors["latent"] {
                guard x.dtype == .F32, x.shape.count == 3, x.shape.allSatisfy({ $0 > 0 }) else {
                    throw bad("\"latent\" must be F32 with shape [C, h, w], found \(x.dtype.rawValue)\(x.shape)")
                }
                let values = try st.floats("latent")
                if let i = values.firstIndex(where: { !$0.isFinite }) { throw bad("the latent has a non-finite value at index \(i)") }
                latent = Latent(shape: x.shape, values: values)
            }
        }
        let unknown = Set(st.tensors.keys).subtracting(v >= 2 ? ["embedding", "exemplar", "latent"] : ["embedding", "exemplar"])
        if let u = unknown.sorted().first { throw bad("unexpected tensor \"\(u)\"") }
        // "norm" is reserved in version 1 too: carried along as provenance it
        // would be written back as a version-2 length it never was.
        let reserved: Set<String> = ["format", "format_version", "model", "model_sha256", "kind", "source", "source_sha256", "resolution",
                                     "dim", "norm"]
        var extra: [String: String] = [:]
        for (k, v) in m where !reserved.contains(k) { extra[k] = v }
        var file = EmbeddingFile(embedding: e, exemplar: exemplar, kind: kind, model: m["model"] ?? "unknown",
                                 modelHash: m["model_sha256"] ?? "", source: m["source"] ?? "",
                                 sourceHash: m["source_sha256"] ?? "", resolution: Int(m["resolution"] ?? "") ?? 0, extra: extra,
                                 norm: rawNorm, latent: latent)
        file.version = v
        return file
    }

    /// Edits must not mix vectors from different models: their spaces are
    /// unrelated even when the dimensions agree.
    public static func checkSameModel(_ a: EmbeddingFile, _ b: EmbeddingFile, names: (String, String)) throws {
        if a.modelHash != b.modelHash || a.dimension != b.dimension {
            throw UnclipError.usage("\(names.0) was made with model \(a.model) (\(a.modelHash.prefix(12))) but \(names.1) with \(b.model) (\(b.modelHash.prefix(12))): embeddings from different models cannot be mixed; re-encode both with the same --model")
        }
    }
}
