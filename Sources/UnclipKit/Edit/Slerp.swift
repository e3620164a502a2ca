import Foundation

/// Spherical linear interpolation between unit vectors (Shoemake 1985), the
/// path unCLIP uses between image embeddings and for text diffs
/// (Ramesh et al. 2022, §3.2–3.3). Arithmetic runs in Double: CLIP vectors
/// have hundreds of dimensions and the endpoints must come back exactly.
public enum Slerp {
    /// Below this angle sin(ω) loses too many digits; the chord is then
    /// indistinguishable from the arc and a normalised lerp is exact enough.
    public static let nearlyParallel = 1e-4
    /// Within this angle of π the great circle through a and b is undefined.
    public static let nearlyOpposite = 1e-4

    public static func dot(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "dimension mismatch \(a.count) vs \(b.count)")
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    public static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    /// `a / |a|`; nil for the zero vector (callers decide what that means).
    public static func normalized(_ a: [Float]) -> [Float]? {
        let n = norm(a)
        guard n > 0, n.isFinite else { return nil }
        return a.map { Float(Double($0) / n) }
    }

    /// Cosine similarity of two vectors of any length.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let d = norm(a) * norm(b)
        return d > 0 ? dot(a, b) / d : 0
    }

    /// The point at fraction `t` of the great-circle arc from `a` to `b`
    /// (both unit vectors). `t` outside [0, 1] extrapolates along the same
    /// circle. The result is a unit vector; t = 0 and t = 1 return `a` and `b`
    /// exactly.
    public static func slerp(_ a: [Float], _ b: [Float], _ t: Double) -> [Float] {
        precondition(a.count == b.count, "dimension mismatch \(a.count) vs \(b.count)")
        if t == 0 { return a }
        if t == 1 { return b }
        let cosW = max(-1, min(1, dot(a, b)))
        let omega = acos(cosW)
        let out: [Double]
        if omega < nearlyParallel {
            out = (0..<a.count).map { Double(a[$0]) * (1 - t) + Double(b[$0]) * t }
        } else if Double.pi - omega < nearlyOpposite {
            // Every great circle through a passes through −a ≈ b, so pick one
            // by a fixed rule, which keeps results reproducible: the circle
            // through the coordinate axis least aligned with a.
            let u = orthogonal(to: a)
            let ang = t * Double.pi
            out = (0..<a.count).map { Double(a[$0]) * cos(ang) + u[$0] * sin(ang) }
        } else {
            let s = sin(omega)
            let wa = sin((1 - t) * omega) / s, wb = sin(t * omega) / s
            out = (0..<a.count).map { Double(a[$0]) * wa + Double(b[$0]) * wb }
        }
        let n = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return out.map { Float($0 / n) }
    }

    /// A unit vector orthogonal to `a`: Gram–Schmidt on the basis vector of
    /// a's smallest-magnitude coordinate (lowest index on ties).
    public static func orthogonal(to a: [Float]) -> [Double] {
        precondition(a.count >= 2, "no orthogonal direction in one dimension")
        var k = 0
        for i in 1..<a.count where abs(a[i]) < abs(a[k]) { k = i }
        let an = norm(a)
        var u = [Double](repeating: 0, count: a.count)
        u[k] = 1
        let proj = Double(a[k]) / (an * an)
        for i in 0..<a.count { u[i] -= proj * Double(a[i]) }
        let n = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return u.map { $0 / n }
    }
}
