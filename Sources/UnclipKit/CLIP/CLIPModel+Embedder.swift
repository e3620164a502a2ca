import Foundation

/// The model behind the engine's embedder protocols: images through
/// `CLIPImagePreprocessor` (Pillow-exact, as transformers' processor) and the
/// vision tower, captions through `CLIPTokenizer` and the text tower.
extension CLIPModel: ImageEmbedder, TextEmbedder {
    public func embed(images: [Image]) throws -> [[Float]] {
        try embedKeepingNorms(images: images).map(\.vector)
    }

    public func embedKeepingNorms(images: [Image]) throws -> [(vector: [Float], norm: Float?)] {
        let pre = try preprocessor()
        guard pre.cropSize == inputResolution else {
            throw UnclipError.model("\(directory.path): preprocessor_config.json crops to \(pre.cropSize) pixels but the model reads \(inputResolution)")
        }
        let pixels = pre.pixels(images)   // [N, 3, S, S]
        return try embedKeepingNorms(pixels: pixels, count: images.count).map { ($0.vector, $0.norm) }
    }

    public func embed(texts: [String]) throws -> [[Float]] {
        let tok = try tokenizer()
        return try embed(tokenIDs: texts.map { tok.encode($0) })
    }
}
