import Foundation

/// Text diffs, Ramesh et al. 2022, §3.3: the direction from a "from" caption
/// to a "to" caption in CLIP's joint space, z_d = normalize(z_t − z_t0), and
/// the edited image embedding z_θ = slerp(z_i, z_d, θ). θ around 0.25–0.5
/// changes the described attribute while keeping most of the image.
public enum TextDiff {
    /// The paper's neutral caption, used when no "from" caption is given.
    public static let defaultFrom = "a photo"

    /// normalize(to − from). Throws when the captions embed to the same
    /// vector: there is no direction to move along.
    public static func direction(to: [Float], from: [Float]) throws -> [Float] {
        guard to.count == from.count else {
            throw UnclipError.usage("caption embeddings differ in dimension (\(to.count) vs \(from.count))")
        }
        let d = zip(to, from).map { $0 - $1 }
        guard Slerp.norm(d) > 1e-6, let n = Slerp.normalized(d) else {
            throw UnclipError.usage("the --from and --to captions embed to the same vector: there is no direction to edit along; make them differ in what they describe")
        }
        return n
    }

    /// Embeds both captions with `text` (an empty `from` means "a photo").
    public static func direction(text: TextEmbedder, to: String, from: String) throws -> [Float] {
        let fromCaption = from.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? defaultFrom : from
        let z = try text.embed(texts: [to, fromCaption])  // [2][D]
        return try direction(to: z[0], from: z[1])
    }

    /// z_θ = slerp(z_i, z_d, θ).
    public static func target(image: [Float], direction: [Float], theta: Double) throws -> [Float] {
        guard image.count == direction.count else {
            throw UnclipError.usage("the image embedding has \(image.count) dimensions but the text direction \(direction.count): they come from different models")
        }
        return Slerp.slerp(image, direction, theta)
    }

    /// The θ values `--steps K` writes: K evenly spaced values from 0 to θ.
    public static func schedule(theta: Double, steps: Int) -> [Double] {
        precondition(steps >= 1)
        if steps == 1 { return [theta] }
        return (0..<steps).map { theta * Double($0) / Double(steps - 1) }
    }
}
