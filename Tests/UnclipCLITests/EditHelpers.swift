import Foundation
import XCTest
import UnclipKit

/// Embedding files for the edit tests, made with the statistic test model
/// (what `UNCLIP_TEST_EMBEDDER=statistic unclip encode` will write): no CLIP
/// checkpoint is needed.
enum EditFixtures {
    static let env = ["UNCLIP_TEST_EMBEDDER": "statistic"]
    /// Prefix for `CLI.shell` scripts.
    static let export = "export UNCLIP_TEST_EMBEDDER=statistic; "
    static let model = StatisticEmbedder()

    static let red = Fixtures.path("edit/red-parrot-96x64.png")
    static let blue = Fixtures.path("edit/blue-parrot-96x64.png")

    static func image(_ path: String) throws -> Image { try ImageCodec.read(path).rgb() }

    static func embedding(_ path: String) throws -> EmbeddingFile {
        let im = try image(path)
        let bytes = try IO.read(path)
        return EmbeddingFile(embedding: try model.embed(images: [im])[0], exemplar: im, kind: .image,
                             model: model.modelName, modelHash: model.modelHash,
                             source: URL(fileURLWithPath: path).lastPathComponent, sourceHash: SHA256.hex(bytes),
                             resolution: model.inputResolution)
    }

    /// Writes the embedding of `image` to `name` in `dir`; returns its path.
    @discardableResult
    static func write(_ image: String, as name: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try IO.write(try embedding(image).serialize(), to: path)
        return path
    }

    static func png(_ url: URL) throws -> Image { try ImageCodec.read(url.path).rgb() }
    static func png(_ data: Data) throws -> Image { try ImageCodec.decode(Array(data), name: "stdout").image.rgb() }

    static func psnr(_ a: Image, _ b: Image) -> Double {
        precondition(a.pixels.count == b.pixels.count)
        var s = 0.0
        for (x, y) in zip(a.pixels, b.pixels) { let d = Double(x) - Double(y); s += d * d }
        let mse = s / Double(a.pixels.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    static func cosine(_ im: Image, _ z: [Float]) throws -> Double { Slerp.cosine(try model.embed(images: [im])[0], z) }

    static func meanLuma(_ im: Image) -> Double { Double(im.gray().reduce(0) { $0 + Int($1) }) / Double(im.pixelCount) }
    static func meanWarmth(_ im: Image) -> Double {
        var s = 0
        for i in 0..<im.pixelCount { s += Int(im.pixels[3 * i]) - Int(im.pixels[3 * i + 2]) }
        return Double(s) / Double(im.pixelCount)
    }

    /// Correlation of two images' luminance gradients: near 1 when one is a
    /// tonal/colour edit of the other (the same picture), low when content moved.
    static func structure(_ a: Image, _ b: Image) -> Double {
        func grads(_ im: Image) -> [Double] {
            let g = im.gray().map(Double.init)
            var out: [Double] = []
            for y in 0..<(im.height - 1) {
                for x in 0..<(im.width - 1) {
                    let i = y * im.width + x
                    out.append(g[i + 1] - g[i]); out.append(g[i + im.width] - g[i])
                }
            }
            return out
        }
        let u = grads(a), v = grads(b)
        let mu = u.reduce(0, +) / Double(u.count), mv = v.reduce(0, +) / Double(v.count)
        var suv = 0.0, suu = 0.0, svv = 0.0
        for (x, y) in zip(u, v) { suv += (x - mu) * (y - mv); suu += (x - mu) * (x - mu); svv += (y - mv) * (y - mv) }
        return suv / (suu * svv).squareRoot()
    }

    /// The text value for `key` in a PNG file: tEXt (Latin-1) or
    /// uncompressed iTXt (UTF-8), as the codec writes them.
    static func pngText(_ data: [UInt8], _ key: String) -> String? {
        var i = 8
        while i + 8 <= data.count {
            let len = Int(data[i]) << 24 | Int(data[i + 1]) << 16 | Int(data[i + 2]) << 8 | Int(data[i + 3])
            let type = String(decoding: data[(i + 4)..<(i + 8)], as: UTF8.self)
            if (type == "tEXt" || type == "iTXt"), i + 8 + len <= data.count {
                let body = Array(data[(i + 8)..<(i + 8 + len)])
                if let z = body.firstIndex(of: 0), String(decoding: body[..<z], as: UTF8.self) == key {
                    if type == "tEXt" { return String(body[(z + 1)...].map { Character(Unicode.Scalar($0)) }) }
                    // iTXt: flag, method, language\0, translated keyword\0, text.
                    var k = z + 3
                    for _ in 0..<2 { while k < body.count && body[k] != 0 { k += 1 }; k += 1 }
                    return k <= body.count ? String(decoding: body[k...], as: UTF8.self) : nil
                }
            }
            i += 12 + len
        }
        return nil
    }
}
