import Foundation

/// Sums over every p×p window of a plane, by one summed-area table (Crow
/// 1984): the patch-level views of per-pixel facts (is any pixel masked,
/// is any pixel unusable, how trusted are they on average) that PatchMatch
/// and the vote need at each corner, in O(w·h) whatever the patch size.
enum WindowSums {
    /// [h, w]: at corner (x, y) the sum of `value(i)` over the pixels
    /// i = (x…x+p−1, y…y+p−1); 0 at corners whose window leaves the plane.
    static func corners(width w: Int, height h: Int, patch p: Int, value: (Int) -> Double) -> [Double] {
        var out = [Double](repeating: 0, count: w * h)
        guard w >= p && h >= p else { return out }
        var integral = [Double](repeating: 0, count: (w + 1) * (h + 1))
        for y in 0..<h {
            var run = 0.0
            for x in 0..<w {
                run += value(y * w + x)
                integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + run
            }
        }
        for y in 0...(h - p) {
            for x in 0...(w - p) {
                out[y * w + x] = integral[(y + p) * (w + 1) + x + p] - integral[y * (w + 1) + x + p]
                    - integral[(y + p) * (w + 1) + x] + integral[y * (w + 1) + x]
            }
        }
        return out
    }
}
