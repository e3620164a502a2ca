import Foundation

/// The bookkeeping every embedding edit shares: where the pixels come from,
/// which model a vector belongs to, and how an edited vector is written
/// back as an `.emb` that a later `unclip decode` (or another edit) reads.
public enum EmbeddingEdit {
    /// The pixels a decoding command draws from: `--exemplar` when given,
    /// else the file's own exemplar. Text embeddings carry none.
    public static func exemplar(of e: EmbeddingFile, name: String, override: Image?) throws -> Image {
        if let override { return override.rgb() }
        guard let x = e.exemplar else {
            throw UnclipError.usage("\(name): a text embedding has no exemplar to take pixels from; give one with --exemplar IMAGE")
        }
        return x
    }

    /// Refuses to score or edit `e` with a model other than the one that made it.
    public static func checkModel(_ embedder: ImageEmbedder, matches e: EmbeddingFile, name: String) throws {
        guard embedder.modelHash == e.modelHash else {
            throw UnclipError.usage("\(name) was made with model \(e.model) (\(e.modelHash.prefix(12))) but the model loaded is \(embedder.modelName) (\(embedder.modelHash.prefix(12))): embeddings from different models cannot be mixed; use the same --model or re-encode")
        }
    }

    /// An `.emb` holding `vector` as the edit of `base`: same model and
    /// source, `exemplar` as the pixels to decode from, and metadata `edit`
    /// describing the chain of edits so far (earlier ones first, `; `-separated).
    public static func record(editing base: EmbeddingFile, vector: [Float], exemplar: Image?, edit: String,
                              provenance: [String: String] = [:]) -> EmbeddingFile {
        var out = base
        out.embedding = vector
        out.exemplar = exemplar.map { $0.rgb() }
        if exemplar != nil { out.kind = .image }
        var extra = base.extra
        for (k, v) in provenance { extra[k] = v }
        extra["edit"] = [base.extra["edit"], edit].compactMap { $0 }.joined(separator: "; ")
        out.extra = extra
        return out
    }
}
