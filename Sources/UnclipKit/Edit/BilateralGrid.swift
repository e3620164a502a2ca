import Foundation

/// A coarse bilateral grid of per-channel gains, J. Chen, S. Paris and
/// F. Durand, "Real-time Edge-Aware Image Processing with the Bilateral
/// Grid", SIGGRAPH 2007, §4 (slicing). Cells span image x, image y and the
/// guide's luminance, so an edit can brighten the sky without touching the
/// dark foreground beside it: neighbouring pixels of different brightness
/// read different cells and edges stay put. The vertices are the free
/// parameters of textdiff's local colour search, so the grid is small.
public struct BilateralGrid: Sendable, Equatable {
    /// Vertices along x, y and luminance (each ≥ 2 vertices spans the full range).
    public let nx: Int, ny: Int, nz: Int
    /// log2 gains, [nz, ny, nx, 3] (R, G, B); zero is the identity.
    public var values: [Double]

    public init(nx: Int = 2, ny: Int = 2, nz: Int = 3, values: [Double]? = nil) {
        precondition(nx >= 1 && ny >= 1 && nz >= 1)
        self.nx = nx; self.ny = ny; self.nz = nz
        let count = nx * ny * nz * 3
        if let values { precondition(values.count == count, "grid needs \(count) values") }
        self.values = values ?? [Double](repeating: 0, count: count)
    }

    public var parameterCount: Int { values.count }
    public var isIdentity: Bool { values.allSatisfy { $0 == 0 } }

    /// Trilinear interpolation of the three log2 gains at normalised
    /// position (u, v) ∈ [0, 1]² and guide luminance l ∈ [0, 1].
    @inline(__always)
    public func slice(u: Float, v: Float, luma l: Float) -> (Float, Float, Float) {
        func locate(_ t: Float, _ n: Int) -> (Int, Int, Float) {
            guard n > 1 else { return (0, 0, 0) }
            let g = min(max(t, 0), 1) * Float(n - 1)
            let i = min(Int(g), n - 2)
            return (i, i + 1, g - Float(i))
        }
        let (x0, x1, fx) = locate(u, nx), (y0, y1, fy) = locate(v, ny), (z0, z1, fz) = locate(l, nz)
        var r: Float = 0, g: Float = 0, b: Float = 0
        for (z, wz) in [(z0, 1 - fz), (z1, fz)] where wz != 0 {
            for (y, wy) in [(y0, 1 - fy), (y1, fy)] where wy != 0 {
                for (x, wx) in [(x0, 1 - fx), (x1, fx)] where wx != 0 {
                    let w = wz * wy * wx
                    let o = ((z * ny + y) * nx + x) * 3
                    r += w * Float(values[o]); g += w * Float(values[o + 1]); b += w * Float(values[o + 2])
                }
            }
        }
        return (r, g, b)
    }
}
