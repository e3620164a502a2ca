import Foundation

/// Steers an image toward a target embedding through `PhotoAdjustments`,
/// maximising cos(E(adjust(x)), z) − λ·MSE(adjust(x), x) with `CMAES`.
/// The closeness term is what keeps an edit an edit: among the many ways to
/// raise the cosine, the search prefers the one that changes the photo least.
/// It is quadratic so that small, useful edits cost almost nothing (cosine
/// gains toward a text direction are a few hundredths) while large ones are
/// expensive.
///
/// The search scores small proxies (the embedder's input resolution) and the
/// winning parameters are then applied to the full-resolution image: every
/// control is resolution independent (the grid is in normalised coordinates).
public enum AdjustmentSearch {
    public struct Options: Sendable {
        /// Embedder calls in all (each scores one candidate image).
        public var evaluations = 120
        /// λ: cosine given up per unit of mean squared pixel change (pixels in [0, 1]).
        public var closeness = 1.0
        /// Also search local colour (a bilateral grid) after the global controls.
        public var local = true
        public var gridX = 2, gridY = 2, gridZ = 3
        public var seed: UInt64 = 0
        public var threads = 2
        public init() {}
    }

    public struct Result: Sendable {
        public var adjustments: PhotoAdjustments
        /// Cosine to the target before and after, measured on the proxy.
        public var startCosine: Double
        public var cosine: Double
        public var evaluations: Int
    }

    /// Search coordinates are the controls divided by these, so one unit of
    /// step is a comparably visible change for every control.
    static let globalScale: [Double] = [1, 0.5, 0.3, 0.4, 0.25, 0.25, 0.4, 0.25]
    static let localScale = 0.5, localBound = 2.0

    public static func search(image: Image, target: [Float], embedder: ImageEmbedder,
                              start: PhotoAdjustments = PhotoAdjustments(), options: Options = Options()) throws -> Result {
        let proxy = Shrink.toShortSide(image, embedder.inputResolution)
        let base = proxy.pixels.map { Float($0) / 255 }
        let threads = max(1, options.threads)

        var evaluations = 0
        // [λ] adjustment sets → [λ] objective values (lower is better), and the cosines.
        func score(_ sets: [PhotoAdjustments]) throws -> ([Double], [Double]) {
            var images = [Image?](repeating: nil, count: sets.count)
            var mse = [Double](repeating: 0, count: sets.count)
            let groups = min(threads, sets.count)
            images.withUnsafeMutableBufferPointer { ib in
                mse.withUnsafeMutableBufferPointer { rb in
                    DispatchQueue.concurrentPerform(iterations: groups) { g in
                        var k = g
                        while k < sets.count {
                            let im = sets[k].apply(to: proxy)
                            var s = 0.0
                            for (i, p) in im.pixels.enumerated() { let d = Double(Float(p) / 255 - base[i]); s += d * d }
                            ib[k] = im
                            rb[k] = s / Double(base.count)
                            k += groups
                        }
                    }
                }
            }
            let z = try embedder.embed(images: images.map { $0! })  // [λ][D]
            evaluations += sets.count
            let cos = z.map { Slerp.cosine($0, target) }
            return (zip(cos, mse).map { -$0 + options.closeness * $1 }, cos)
        }

        let (f0, c0) = try score([start])
        var best = start, bestF = f0[0], bestCos = c0[0]
        let startCos = c0[0]
        // Nothing to do when the start already is the target (an unedited
        // embedding decodes to its own exemplar).
        if startCos > 0.99999 || options.evaluations <= 1 {
            return Result(adjustments: start, startCosine: startCos, cosine: startCos, evaluations: evaluations)
        }

        // Stage 1: global controls.
        let n = PhotoAdjustments.globalNames.count
        var cma = CMAES.Options()
        cma.sigma = 0.5
        cma.seed = options.seed
        cma.maxEvaluations = options.local ? (options.evaluations - 1) * 3 / 5 : options.evaluations - 1
        cma.lowerBounds = (0..<n).map { PhotoAdjustments.globalLower[$0] / globalScale[$0] }
        cma.upperBounds = (0..<n).map { PhotoAdjustments.globalUpper[$0] / globalScale[$0] }
        func withGlobal(_ u: [Double]) -> PhotoAdjustments {
            var a = best
            a.global = (0..<n).map { u[$0] * globalScale[$0] }
            return a
        }
        if cma.maxEvaluations > 0 {
            let r = try CMAES.minimize(start: (0..<n).map { best.global[$0] / globalScale[$0] }, options: cma) { us in
                try score(us.map(withGlobal)).0
            }
            let cand = withGlobal(r.best)
            if r.bestValue < bestF {
                let (f, c) = try score([cand])
                best = cand; bestF = f[0]; bestCos = c[0]
            }
        }

        // Stage 2: local colour through the bilateral grid, globals fixed.
        if options.local && evaluations < options.evaluations {
            let grid = best.local ?? BilateralGrid(nx: options.gridX, ny: options.gridY, nz: options.gridZ)
            let m = grid.parameterCount
            func withGrid(_ u: [Double]) -> PhotoAdjustments {
                var a = best
                a.local = BilateralGrid(nx: grid.nx, ny: grid.ny, nz: grid.nz, values: u.map { $0 * localScale })
                return a
            }
            var lo = CMAES.Options()
            lo.sigma = 0.5
            lo.seed = options.seed &+ 1
            lo.maxEvaluations = options.evaluations - evaluations
            lo.lowerBounds = [Double](repeating: -localBound / localScale, count: m)
            lo.upperBounds = [Double](repeating: localBound / localScale, count: m)
            let r = try CMAES.minimize(start: grid.values.map { $0 / localScale }, options: lo) { us in
                try score(us.map(withGrid)).0
            }
            if r.bestValue < bestF {
                let cand = withGrid(r.best)
                let (f, c) = try score([cand])
                best = cand; bestF = f[0]; bestCos = c[0]
            }
        }
        return Result(adjustments: best, startCosine: startCos, cosine: bestCos, evaluations: evaluations)
    }
}
