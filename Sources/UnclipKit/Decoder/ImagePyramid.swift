import Foundation

/// Level geometry and the masked resampling that builds coarse levels.
enum ImagePyramid {
    /// Sizes from finest (index 0) to coarsest, halving until the smaller
    /// side would drop below `coarsest` (but never below `minSide`, the
    /// smallest size a patch still fits in with room to move).
    static func sizes(width: Int, height: Int, coarsest: Int, minSide: Int) -> [(w: Int, h: Int)] {
        var out = [(w: width, h: height)]
        var w = Double(width), h = Double(height)
        let floor = Double(max(coarsest, minSide))
        while min(w, h) / 2 >= floor {
            w /= 2; h /= 2
            out.append((Int(w.rounded()), Int(h.rounded())))
        }
        return out
    }

    /// Downsamples `image` where `weight` (same size, one plane) says how much
    /// each pixel may be trusted: coarse pixels average only trusted inputs,
    /// so hole contents never leak into coarse known pixels. Returns the
    /// image and the coarse trust (area average of `weight`).
    static func downsample(_ image: FloatImage, weight: [Float], width w: Int, height h: Int) -> (FloatImage, [Float]) {
        let n = image.planeSize
        var premul = FloatImage(width: image.width, height: image.height, channels: image.channels + 1)
        for c in 0..<image.channels {
            for i in 0..<n { premul.data[c * n + i] = image.data[c * n + i] * weight[i] }
        }
        premul.data.replaceSubrange((image.channels * n)..<((image.channels + 1) * n), with: weight)
        let small = premul.resizedArea(width: w, height: h)
        let m = w * h
        var out = FloatImage(width: w, height: h, channels: image.channels)
        let trust = Array(small.data[(image.channels * m)..<((image.channels + 1) * m)])
        for c in 0..<image.channels {
            for i in 0..<m {
                let t = trust[i]
                out.data[c * m + i] = t > 1e-6 ? small.data[c * m + i] / t : 0
            }
        }
        return (out, trust)
    }

    /// Fills untrusted pixels by pull–push (Gortler et al. 1996, "The
    /// Lumigraph", §3.3): a smooth membrane from the surrounding colours,
    /// the starting guess for the coarsest level of an inpainting.
    static func pullPushFill(_ image: FloatImage, trust: [Float]) -> FloatImage {
        let w = image.width, h = image.height
        if w <= 1 && h <= 1 || trust.allSatisfy({ $0 >= 1 }) { return image }
        let cw = max(1, (w + 1) / 2), ch = max(1, (h + 1) / 2)
        var (coarse, ctrust) = downsample(image, weight: trust, width: cw, height: ch)
        ctrust = ctrust.map { min(1, $0 * 4) }
        if ctrust.contains(where: { $0 < 1 }) && (cw > 1 || ch > 1) {
            coarse = pullPushFill(coarse, trust: ctrust)
        }
        let up = coarse.resizedBilinear(width: w, height: h)
        var out = image
        let n = w * h
        for c in 0..<image.channels {
            for i in 0..<n {
                let t = min(1, max(0, trust[i]))
                out.data[c * n + i] = t * image.data[c * n + i] + (1 - t) * up.data[c * n + i]
            }
        }
        return out
    }
}
