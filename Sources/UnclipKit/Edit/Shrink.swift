import Foundation

/// Box-filter reduction, used to make the small proxies that edit searches
/// score: an embedding model looks at a fixed, low resolution anyway, and a
/// search evaluates hundreds of candidates.
public enum Shrink {
    /// Averages `image` (RGB) so that its shorter side is at most `shortSide`,
    /// keeping the aspect ratio. Smaller images come back unchanged.
    public static func toShortSide(_ image: Image, _ shortSide: Int) -> Image {
        let src = image.rgb()
        let s = min(src.width, src.height)
        guard s > shortSide, shortSide > 0 else { return src }
        let w = max(1, (src.width * shortSide + s / 2) / s), h = max(1, (src.height * shortSide + s / 2) / s)
        return resize(src, width: w, height: h)
    }

    /// Area averaging onto a smaller grid (`Exemplar.areaResize`, the box
    /// filter encode uses for exemplars).
    public static func resize(_ src: Image, width w: Int, height h: Int) -> Image {
        precondition(w <= src.width && h <= src.height, "Shrink only reduces")
        return Exemplar.areaResize(src.rgb(), width: w, height: h)
    }
}
