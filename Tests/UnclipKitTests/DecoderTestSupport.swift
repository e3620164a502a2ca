import Foundation
import UnclipKit

/// Small deterministic images and masks for the decoder tests.
enum DecoderFixtures {
    static var root: URL { KitFixtures.root.appendingPathComponent("decoder") }

    /// Real photos (Kodak): 96×96 PNG crops, and kodim13 at 384×256 (JPEG).
    static func photo(_ name: String) throws -> Image {
        try ImageCodec.read(root.appendingPathComponent(name).path)
    }

    /// A photo-like image: smooth shading, an oriented texture and seeded grain.
    static func synthetic(width w: Int, height h: Int, seed: UInt64 = 1) -> Image {
        var rng = SplitMix64(seed: seed)
        var img = Image(width: w, height: h, channels: 3)
        for y in 0..<h {
            for x in 0..<w {
                let t = sin(Double(x) * 0.7 + Double(y) * 0.3) * 30
                for c in 0..<3 {
                    let base = 60.0 + Double(c) * 40 + Double(x + y) * 0.5
                    let v = base + t + Double(rng.below(21)) - 10
                    img[x, y, c] = UInt8(max(0, min(255, v)))
                }
            }
        }
        return img
    }

    /// A texture that repeats exactly every `period` pixels in both directions.
    static func periodic(width w: Int, height h: Int, period: Int, seed: UInt64 = 7) -> Image {
        var rng = SplitMix64(seed: seed)
        let tile = (0..<(period * period * 3)).map { _ in UInt8(rng.below(256)) }
        var img = Image(width: w, height: h, channels: 3)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 { img[x, y, c] = tile[((y % period) * period + x % period) * 3 + c] }
            }
        }
        return img
    }

    static func box(width w: Int, height h: Int, x0: Int, y0: Int, x1: Int, y1: Int, value: Float = 1) -> [Float] {
        var m = [Float](repeating: 0, count: w * h)
        for y in y0..<y1 { for x in x0..<x1 { m[y * w + x] = value } }
        return m
    }

    /// Σ (∂x)² + (∂y)² over every channel of the pixels in `columns` × `rows`
    /// (forward differences, so one more column and row must exist).
    static func gradientEnergy(_ im: Image, columns: Range<Int>, rows: Range<Int>) -> Double {
        var s = 0.0
        for y in rows { for x in columns { for c in 0..<3 {
            let dx = Double(im[x + 1, y, c]) - Double(im[x, y, c]), dy = Double(im[x, y + 1, c]) - Double(im[x, y, c])
            s += dx * dx + dy * dy
        } } }
        return s
    }

    /// A seeded thick stroke, like the bench's masks.
    static func stroke(width w: Int, height h: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var m = [Float](repeating: 0, count: w * h)
        var x = Double(rng.below(w)), y = Double(rng.below(h))
        let r = 3 + rng.below(4)
        for _ in 0..<(w * 2) {
            x = min(Double(w - 1), max(0, x + Double(rng.below(3)) - 1 + 0.6))
            y = min(Double(h - 1), max(0, y + Double(rng.below(3)) - 1 + 0.3))
            for dy in -r...r { for dx in -r...r where dx * dx + dy * dy <= r * r {
                let px = Int(x) + dx, py = Int(y) + dy
                if px >= 0 && px < w && py >= 0 && py < h { m[py * w + px] = 1 }
            } }
        }
        return m
    }

    static func meanAbsDifference(_ a: Image, _ b: Image, where mask: [Float]) -> Double {
        var s = 0.0, n = 0
        for i in 0..<a.pixelCount where mask[i] > 0 {
            for c in 0..<min(a.channels, b.channels) {
                s += abs(Double(a.pixels[i * a.channels + c]) - Double(b.pixels[i * b.channels + c])); n += 1
            }
        }
        return n == 0 ? 0 : s / Double(n)
    }
}
