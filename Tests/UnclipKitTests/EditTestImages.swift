import Foundation
import UnclipKit

/// Small deterministic test images, so Kit tests need no files.
enum TestImages {
    /// A smooth colour gradient with a textured band: every statistic the
    /// test embedder measures has something to see.
    static func scene(width: Int = 48, height: Int = 32, seed: UInt64 = 1) -> Image {
        var g = SplitMix64(seed: seed)
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) / Double(width - 1), v = Double(y) / Double(height - 1)
                var r = 40 + 150 * u, gg = 60 + 120 * v, b = 170 - 100 * u
                if y > height / 2 && y < 3 * height / 4 { let n = 60 * (Double(g.unit()) - 0.5); r += n; gg += n; b += n }
                let i = (y * width + x) * 3
                px[i] = UInt8(max(0, min(255, r))); px[i + 1] = UInt8(max(0, min(255, gg))); px[i + 2] = UInt8(max(0, min(255, b)))
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: px)
    }

    static func meanLuma(_ im: Image) -> Double { Double(im.gray().reduce(0) { $0 + Int($1) }) / Double(im.pixelCount) }
    static func meanWarmth(_ im: Image) -> Double {
        var s = 0
        for i in 0..<im.pixelCount { s += Int(im.pixels[3 * i]) - Int(im.pixels[3 * i + 2]) }
        return Double(s) / Double(im.pixelCount)
    }
}

/// The repository's `Fixtures/edit` crops, for Kit tests.
enum EditKitFixtures {
    static let root = KitFixtures.root.appendingPathComponent("edit")

    static func image(_ name: String) throws -> Image { try ImageCodec.read(root.appendingPathComponent(name).path).rgb() }
    static func red() throws -> Image { try image("red-parrot-96x64.png") }
    static func blue() throws -> Image { try image("blue-parrot-96x64.png") }

    static func psnr(_ a: Image, _ b: Image) -> Double {
        precondition(a.pixels.count == b.pixels.count)
        var s = 0.0
        for (x, y) in zip(a.pixels, b.pixels) { let d = Double(x) - Double(y); s += d * d }
        return s == 0 ? .infinity : 10 * log10(255 * 255 / (s / Double(a.pixels.count)))
    }
}
