import Foundation

/// The model behind the engine's embedder protocols: images through
/// `CLIPImagePreprocessor` (Pillow-exact, as transformers' processor) and the
/// vision tower, captions through `CLIPTokenizer` and the text tower.
extension CLIPModel: ImageEmbedder, TextEmbedder {
    public func embed(images: [Image]) throws -> [[Float]] {
        let pre = try preprocessor()
        var pixels: [Float] = []
        pixels.reserveCapacity(images.count * vision.inputCount)
        for image in images {
            let p = pre.pixels(image)   // [3, S, S]
            guard p.count == vision.inputCount else {
                throw UnclipError.model("\(directory.path): preprocessor_config.json crops to \(pre.cropSize) pixels but the model reads \(inputResolution)")
            }
            pixels += p
        }
        return try embed(pixels: pixels, count: images.count)
    }

    public func embed(texts: [String]) throws -> [[Float]] {
        let tok = try tokenizer()
        return try embed(tokenIDs: texts.map { tok.encode($0) })
    }
}
