import Foundation

/// Covariance Matrix Adaptation Evolution Strategy, a derivative-free
/// minimiser for non-separable, badly scaled objectives of up to ~100
/// variables. Follows N. Hansen, "The CMA Evolution Strategy: A Tutorial",
/// arXiv:1604.00772 (2016), Table 1 and Fig. 7 (positive recombination
/// weights only). unclip uses it to search photographic edits whose effect is
/// only visible through an embedding model: no gradients are available.
///
/// The objective receives a whole population at once so that an embedder can
/// score it as one batch. Same start, options and seed give the same result.
public struct CMAES {
    public struct Options: Sendable {
        /// Initial step size σ⁽⁰⁾ in the objective's coordinates.
        public var sigma: Double = 0.3
        /// λ; default 4 + ⌊3 ln n⌋ (Hansen 2016, eq. 48).
        public var populationSize: Int? = nil
        /// Stop once this many points have been evaluated.
        public var maxEvaluations: Int = 1000
        /// Stop when the best values of the last generations differ by less.
        public var functionTolerance: Double = 1e-12
        /// Box constraints: points outside are evaluated at their projection
        /// onto the box plus a quadratic penalty on the distance (Hansen 2016,
        /// appendix B, "repair and penalise"), so the search is pulled back in.
        public var lowerBounds: [Double]? = nil
        public var upperBounds: [Double]? = nil
        public var seed: UInt64 = 0
        public init() {}
    }

    public struct Result: Sendable {
        /// The best point evaluated (already inside the bounds).
        public var best: [Double]
        public var bestValue: Double
        public var evaluations: Int
        public var generations: Int
        /// Final mean and step size, for warm-starting a related search.
        public var mean: [Double]
        public var sigma: Double
    }

    /// Minimises `objective`, which maps [λ] points of dimension n to [λ] values.
    public static func minimize(start: [Double], options: Options = Options(),
                                objective: ([[Double]]) throws -> [Double]) rethrows -> Result {
        let n = start.count
        precondition(n >= 1, "CMA-ES needs at least one variable")
        var rng = SplitMix64(seed: options.seed, stream: 0xC3A5)

        // Strategy parameters, Hansen 2016, Table 1.
        let lambda = max(2, options.populationSize ?? (4 + Int(3 * log(Double(n)))))
        let mu = lambda / 2
        var w = (1...mu).map { log(Double(lambda + 1) / 2) - log(Double($0)) }
        let wsum = w.reduce(0, +)
        w = w.map { $0 / wsum }
        let mueff = 1 / w.reduce(0) { $0 + $1 * $1 }
        let dn = Double(n)
        let cs = (mueff + 2) / (dn + mueff + 5)
        let ds = 1 + 2 * max(0, ((mueff - 1) / (dn + 1)).squareRoot() - 1) + cs
        let cc = (4 + mueff / dn) / (dn + 4 + 2 * mueff / dn)
        let c1 = 2 / ((dn + 1.3) * (dn + 1.3) + mueff)
        let cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((dn + 2) * (dn + 2) + mueff))
        let chiN = dn.squareRoot() * (1 - 1 / (4 * dn) + 1 / (21 * dn * dn))

        var mean = start
        var sigma = options.sigma
        var pc = [Double](repeating: 0, count: n), ps = pc
        var C = identity(n)                       // [n, n]
        var B = identity(n)                       // [n, n] eigenvectors as columns
        var D = [Double](repeating: 1, count: n)  // sqrt of eigenvalues
        var eigenAt = 0

        let lo = options.lowerBounds, hi = options.upperBounds
        func project(_ x: [Double]) -> [Double] {
            var y = x
            for i in 0..<n {
                if let lo { y[i] = max(y[i], lo[i]) }
                if let hi { y[i] = min(y[i], hi[i]) }
            }
            return y
        }

        var best = project(start)
        var bestValue = Double.infinity
        var evaluations = 0, generation = 0
        var history: [Double] = []

        while evaluations < options.maxEvaluations {
            // Sample λ offspring: y_k = B D z_k, x_k = m + σ y_k (eq. 38–40).
            var ys: [[Double]] = [], xs: [[Double]] = []
            for _ in 0..<lambda {
                let z = (0..<n).map { _ in gaussian(&rng) }
                var y = [Double](repeating: 0, count: n)
                for i in 0..<n { var s = 0.0; for j in 0..<n { s += B[i * n + j] * D[j] * z[j] }; y[i] = s }
                ys.append(y)
                xs.append((0..<n).map { mean[$0] + sigma * y[$0] })
            }
            let feasible = xs.map(project)
            let raw = try objective(feasible)
            precondition(raw.count == lambda, "objective returned \(raw.count) values for \(lambda) points")
            var f = raw
            for k in 0..<lambda {
                var pen = 0.0
                for i in 0..<n { let d = xs[k][i] - feasible[k][i]; pen += d * d }
                f[k] += pen
                if raw[k] < bestValue { bestValue = raw[k]; best = feasible[k] }
            }
            evaluations += lambda
            generation += 1
            let order = (0..<lambda).sorted { (f[$0], $0) < (f[$1], $1) }

            // Selection and recombination (eq. 41–42, c_m = 1).
            var yw = [Double](repeating: 0, count: n)
            for r in 0..<mu { for i in 0..<n { yw[i] += w[r] * ys[order[r]][i] } }
            for i in 0..<n { mean[i] += sigma * yw[i] }

            // Step-size control (eq. 43–44): C^{-1/2} y_w = B D^{-1} Bᵀ y_w.
            var t = [Double](repeating: 0, count: n)
            for j in 0..<n { var s = 0.0; for i in 0..<n { s += B[i * n + j] * yw[i] }; t[j] = s / D[j] }
            let csn = (cs * (2 - cs) * mueff).squareRoot()
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += B[i * n + j] * t[j] }
                ps[i] = (1 - cs) * ps[i] + csn * s
            }
            let psNorm = ps.reduce(0) { $0 + $1 * $1 }.squareRoot()
            sigma *= exp((cs / ds) * (psNorm / chiN - 1))

            // Covariance adaptation (eq. 45–47), with the h_σ stall guard.
            let hsig = psNorm / (1 - pow(1 - cs, 2 * Double(generation))).squareRoot() < (1.4 + 2 / (dn + 1)) * chiN
            let ccn = (cc * (2 - cc) * mueff).squareRoot()
            for i in 0..<n { pc[i] = (1 - cc) * pc[i] + (hsig ? ccn * yw[i] : 0) }
            let dh = hsig ? 0 : cc * (2 - cc)
            for i in 0..<n {
                for j in 0...i {
                    var rankMu = 0.0
                    for r in 0..<mu { rankMu += w[r] * ys[order[r]][i] * ys[order[r]][j] }
                    let v = (1 - c1 - cmu) * C[i * n + j] + c1 * (pc[i] * pc[j] + dh * C[i * n + j]) + cmu * rankMu
                    C[i * n + j] = v; C[j * n + i] = v
                }
            }

            // Decompose C lazily: O(n³) per decomposition amortised over
            // generations, as the tutorial recommends (Fig. 7, footnote).
            if Double(evaluations - eigenAt) > Double(lambda) / ((c1 + cmu) * dn * 10) {
                eigenAt = evaluations
                let (vals, vecs) = symmetricEigen(C, n)
                B = vecs
                D = vals.map { max($0, 1e-20).squareRoot() }
            }

            history.append(f[order[0]])
            if history.count >= 10 + Int(30 * dn / Double(lambda)) {
                let recent = history.suffix(10 + Int(30 * dn / Double(lambda)))
                if recent.max()! - recent.min()! < options.functionTolerance { break }
            }
            if sigma * (D.max() ?? 1) < 1e-14 { break }
        }
        return Result(best: best, bestValue: bestValue, evaluations: evaluations, generations: generation,
                      mean: project(mean), sigma: sigma)
    }

    /// A standard normal deviate in double precision (Box–Muller), from the
    /// decoder's generator so one seed convention covers the project.
    static func gaussian(_ rng: inout SplitMix64) -> Double {
        var u = 0.0
        while u == 0 { u = Double(rng.next() >> 11) * 0x1p-53 }
        let v = Double(rng.next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    static func identity(_ n: Int) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + i] = 1 }
        return m
    }

    /// Cyclic Jacobi eigenvalue algorithm for a symmetric [n, n] matrix
    /// (Golub & Van Loan, §8.5): exact to rounding for the small n here and
    /// independent of any LAPACK build, so results are reproducible.
    /// Returns eigenvalues and eigenvectors as the columns of [n, n].
    public static func symmetricEigen(_ m: [Double], _ n: Int) -> ([Double], [Double]) {
        var a = m
        var v = identity(n)
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
