import Foundation

/// Knobs of the patch synthesiser. The defaults are tuned for photographs.
public struct SynthesisOptions: Sendable {
    /// Side of the square patches, in pixels (odd).
    public var patchSize = 7
    /// Expectation–maximisation rounds (PatchMatch + voting) per pyramid level.
    public var emIterations = 4
    /// Rounds at levels with more than `refinePixels` pixels to regenerate:
    /// those levels only sharpen detail the coarser ones already placed.
    public var refineIterations = 2
    public var refinePixels = 256 * 256
    /// Largest random-search radius at those levels, in pixels (0: the
    /// whole exemplar). The carried-up field already places every patch
    /// within a pixel or two of its match there; a wide search mostly
    /// costs distances that never win.
    public var refineSearchRadius = 0
    /// Rounds at levels with more than 4·`refinePixels` pixels to
    /// regenerate. 0 votes the carried-up field there without searching
    /// (GPNN-style: at that scale the search only moves patches by a pixel,
    /// which the vote's averaging hides anyway).
    public var fineIterations = 1
    /// Extra EM rounds where there is little to regenerate: a level with at
    /// most `refinePixels` pixels to regenerate gets `roundBudget / pixels`
    /// rounds when that is more than `emIterations`, at most
    /// `maxEMIterations`. Coarse levels decide the layout and cost little,
    /// so they can afford to converge (PyPatchMatch likewise runs 1 + 2·level
    /// rounds per level). 0 turns it off.
    public var roundBudget = 0
    public var maxEMIterations = 24
    /// PatchMatch rounds per EM round (the first round at the coarsest level does more).
    public var searchIterations = 1
    /// Smaller side of the coarsest pyramid level, in pixels.
    public var coarsestSize = 32
    /// GPNN coarsest-level noise amplitude, as a fraction of the full 0…255
    /// range (Granot et al. 2022, "Drop the GAN", §3): 0 reconstructs,
    /// about 0.75 gives varied yet plausible layouts.
    public var noise: Float = 0
    /// Seeds every random choice; same inputs + seed + threads → same bytes.
    public var seed: UInt64 = 0
    /// Worker threads. The output does not depend on it.
    public var threads = 2
    /// Voting sharpness: 0 averages every overlapping patch equally; higher
    /// values favour the better-matching ones (Wexler et al. 2007, §3.1).
    public var voteSharpness: Float = 4
    /// Sharpness of the very last vote; `.infinity` lets the best-matching
    /// patch alone set each pixel, which keeps fine texture crisp.
    public var finalVoteSharpness: Float = 4
    /// When filling a hole, the last vote is taken at `voteSharpness`
    /// within this many pixels of the nearest known one, blending into
    /// `finalVoteSharpness` over as many pixels again (0: the last vote is
    /// at `finalVoteSharpness` everywhere). A best-patch vote right at the
    /// edge meets the photo with a step; the averaged vote, whose patches
    /// there overlap the known pixels and agree, meets it smoothly.
    public var finalVoteEdge: Float = 0
    /// Sharpness of the vote that starts each finer level from the coarser
    /// level's field, carried up, before its first search, for hole pixels
    /// at least twice half a patch width (6 pixels for 7×7 patches) from
    /// the nearest known one; it blends into `voteSharpness` from half a
    /// patch width to there. Deep in a large
    /// hole the carried patches disagree, an average of them is a blur, the
    /// search then matches the blur with smooth patches, and it lasts to
    /// the finest level; `.infinity` starts from the best-matching carried
    /// patch's pixels instead. Near the edge the patches overlap the known
    /// pixels and agree, and averaging them meets the edge more smoothly.
    public var carriedVoteSharpness: Float = 4
    /// Distance added to patches of a lighter exemplar, per patch pixel and
    /// channel, scaled by 1 − weight/maxWeight (in squared 8-bit levels).
    public var exemplarPenalty: Float = 400
    /// Weight of the texture-feature channels in the patch distance (Newson
    /// et al. 2014); 0 turns them off.
    public var textureWeight: Float = 2
    /// How far a hole's texture-feature channels are pulled toward their
    /// surroundings' after every vote (0 leaves them as voted, 1 replaces
    /// them). Against film grain SSD rates a flat patch closer than other
    /// grain (σ² against 2σ² per pixel), so a fill that starts smooth votes
    /// smooth features and stays flat: flat and grainy are both stable
    /// answers. With the features held toward the grain around the hole, a
    /// flat patch costs what it should there.
    public var texturePrior: Float = 0
    /// The texture prior asks for this multiple of the surroundings'
    /// texture features. Held only partway toward the prior, a hole's
    /// features still settle below it (EM keeps preferring the smoother of
    /// two plausible patches), so at 1 the fills come out with less detail
    /// than the photo around them; a little more than 1 makes up for that.
    public var texturePriorGain: Float = 1
    /// How deep into a hole, in full-size pixels, the texture prior is
    /// trusted at the levels above the finest, where the fill's layout is
    /// chosen: beyond it the pull toward the prior fades by a factor e every
    /// 2 × reach pixels (`.infinity`: never). Carried far from the edge that
    /// it came from, the prior is a guess, and a layout chosen to match it
    /// can be busier than the photo there. The finest level keeps the full
    /// pull, so the layout chosen still gets the surroundings' grain.
    public var texturePriorReach: Float = .infinity
    /// Whether the texture prior is carried into the hole along the edges
    /// that meet its boundary (`CoherenceTransport`) rather than smoothed
    /// in from all sides (pull–push). Smoothed, an edge entering a hole
    /// leaves a fading blob of "some edge near here"; carried, it says where
    /// the edge goes on, and the search picks patches that continue it.
    public var texturePriorAlongEdges = false
    /// How many of the photo's dominant self-similarity offsets (He & Sun
    /// 2012) each level's first search also tries, when inpainting (the one
    /// exemplar is the known image itself); 0 turns them off. Later rounds'
    /// propagation carries a match that landed on one. Patches copied along
    /// the period of a facade, a brick wall or blinds line up with their
    /// neighbours' copies, where matches found patch by patch may not.
    public var dominantOffsets = 0
    /// Boundary confidence γ (Wexler et al. 2007, §3.1): a hole pixel d
    /// pixels from the nearest known one is trusted γ^-d, and each patch
    /// votes with the mean trust of its pixels, so that the fill grows from
    /// the hole's edge instead of being decided by patches that see none of
    /// it. 1 turns it off.
    public var boundaryConfidence: Float = 1
    /// Candidates whose centre pixels the onion-peel start takes the
    /// median of, per pixel (1: the best one's alone). See `OnionPeel`.
    public var peelConsensus = 1
    /// A picture of the result at a coarser scale (or the same): synthesis
    /// starts from it at the finest pyramid level no wider than it, instead
    /// of from the coarsest level, and every finer level rebuilds detail
    /// from the exemplars' own patches. A diffusion fill made at working
    /// size gets full-resolution texture from the photo this way: unCLIP's
    /// upsampler stage (Ramesh et al. 2022, §2.1), fed by the photo itself.
    public var guide: Image? = nil

    public init() {}

    /// Defaults for filling holes:
    /// - a less coarse start (48 px instead of 32), because a hole's layout
    ///   comes from its surroundings rather than from the coarse noise that
    ///   varies whole images (0.3–1.4 dB inside the hole on the Kodak bench);
    /// - boundary confidence 5 and a 9-candidate onion peel, so the fill
    ///   grows from the hole's edge and does not start from a rare object
    ///   (patches that see more of the known pixels outvote those that see
    ///   mostly the estimate, which keeps more of the edges that cross
    ///   into the hole);
    /// - two PatchMatch rounds per EM round: thin strokes' SSIM 0.484 →
    ///   0.492 for about 0.1 s;
    /// - a budget of 24 rounds of a 64×64 hole per level, so that levels
    ///   where the hole is small run up to 24 EM rounds instead of 4;
    /// - a texture prior of 0.5, carried along the boundary's edges, so
    ///   that strokes through grain stay grainy and edges that enter the
    ///   hole go on into it; texture weight 3 (2 elsewhere), so that the
    ///   search heeds it; the prior asks for 1.3 times the surroundings'
    ///   texture, since at 1 the fills kept about three quarters of the
    ///   photo's gradient energy, and above the finest level it fades beyond
    ///   8 pixels from the hole's edge;
    /// - each finer level started from the best carried patch per pixel
    ///   away from the hole's edge, so that the middle of a large hole
    ///   stays sharp;
    /// - the last vote likewise from the best patch per pixel, 2 pixels and
    ///   more from the edge: averaged, the patches that cross an edge
    ///   disagree about where it is and blur it;
    /// - the 32 strongest self-similarity offsets tried by each level's
    ///   first search.
    public static var inpainting: SynthesisOptions {
        var o = SynthesisOptions()
        o.coarsestSize = 48
        o.boundaryConfidence = 5
        o.peelConsensus = 9
        o.searchIterations = 2
        o.roundBudget = 24 * 64 * 64
        o.texturePrior = 0.5
        o.texturePriorAlongEdges = true
        o.texturePriorGain = 1.3
        o.texturePriorReach = 8
        o.textureWeight = 3
        o.carriedVoteSharpness = .infinity
        o.finalVoteSharpness = .infinity
        o.finalVoteEdge = 2
        o.dominantOffsets = 32
        return o
    }
}

/// One source of patches, and how much the result should draw from it.
public struct WeightedExemplar: Sendable {
    public var image: Image
    public var weight: Float
    /// Optional trust plane (width×height, 1 = may be copied). Pixels below
    /// 1 are never copied from: an inpainting's hole, for instance.
    public var usable: [Float]?

    public init(_ image: Image, weight: Float = 1) {
        self.image = image; self.weight = weight; usable = nil
    }

    public init(_ image: Image, weight: Float = 1, usable: [Float]?) {
        self.image = image; self.weight = weight; self.usable = usable
    }
}

/// Exemplar-based image synthesis: coarse-to-fine EM over an image
/// pyramid, each level matching every target patch to its nearest exemplar
/// patch with PatchMatch (Barnes et al. 2009) and rebuilding pixels by patch
/// voting (Wexler et al. 2007); a noisy coarsest level gives diversity
/// (Granot et al. 2022, GPNN).
public enum PatchSynthesis {
    /// Regenerates width×height pixels from the exemplars. `known` + `mask`
    /// (1 = regenerate, soft values allowed, count width*height) constrain
    /// it: known pixels are fixed inputs at every level. With `known` and no
    /// exemplars, the known pixels outside the mask are the exemplar (plain
    /// inpainting). The result is RGB.
    public static func synthesize(exemplars: [WeightedExemplar], width: Int, height: Int, known: Image?, mask: [Float]?,
                                  options: SynthesisOptions, progress: Progress?) throws -> Image {
        try prepare(exemplars: exemplars, width: width, height: height, known: known, mask: mask, options: options)
            .run(seed: options.seed, noise: options.noise, threads: options.threads, progress: progress)
    }

    /// The seed-independent part of `synthesize` (validation, pyramids,
    /// source atlases), to run several seeds from: a variation's candidates
    /// share one exemplar, so building its pyramid once saves that work
    /// per candidate. `options.seed`, `.noise` and `.threads` are ignored.
    public static func prepare(exemplars: [WeightedExemplar], width: Int, height: Int, known: Image?, mask: [Float]?,
                               options: SynthesisOptions) throws -> PreparedSynthesis {
        let p = options.patchSize
        guard p >= 3 && p % 2 == 1 else { throw UnclipError.usage("patch size must be odd and at least 3, not \(p)") }
        guard width >= p && height >= p else {
            throw UnclipError.usage("cannot synthesise \(width)x\(height): smaller than one \(p)x\(p) patch")
        }
        guard options.threads >= 1 else { throw UnclipError.usage("threads must be at least 1") }
        guard options.texturePriorReach > 0 else {
            throw UnclipError.usage("texture prior reach must be above 0, not \(options.texturePriorReach)")
        }
        if let known, known.width != width || known.height != height {
            throw UnclipError.usage("known image is \(known.width)x\(known.height), expected \(width)x\(height)")
        }
        if let mask, mask.count != width * height {
            throw UnclipError.usage("mask has \(mask.count) values, expected \(width * height)")
        }
        if mask != nil && known == nil { throw UnclipError.usage("a mask needs the known image it applies to") }
        let hole: [Float] = mask.map { $0.map { min(1, max(0, $0.isNaN ? 0 : $0)) } }
            ?? [Float](repeating: 1, count: width * height)

        var sources = exemplars
        if sources.isEmpty {
            guard let known else { throw UnclipError.usage("nothing to synthesise from: give an exemplar or a known image") }
            sources = [WeightedExemplar(known, weight: 1, usable: hole.map { 1 - $0 })]
        }
        for (i, s) in sources.enumerated() {
            if let u = s.usable, u.count != s.image.pixelCount {
                throw UnclipError.usage("exemplar \(i + 1): usable plane has \(u.count) values, expected \(s.image.pixelCount)")
            }
            guard s.weight.isFinite && s.weight >= 0 else { throw UnclipError.usage("exemplar \(i + 1): weight must be ≥ 0") }
        }
        guard sources.contains(where: { $0.weight > 0 }) else { throw UnclipError.usage("every exemplar has weight 0") }

        let engine = Engine(sources: sources, width: width, height: height,
                            known: known.map { FloatImage($0.rgb()) }, hole: hole, options: options)
        guard engine.hasSourcePatches else {
            throw UnclipError.badInput("no usable \(p)x\(p) patch to copy from: the exemplars are too small or entirely masked")
        }
        return PreparedSynthesis(engine: engine)
    }
}

/// Exemplar pyramids ready for synthesis (`PatchSynthesis.prepare`).
public struct PreparedSynthesis: Sendable {
    fileprivate let engine: Engine

    /// The synthesis `PatchSynthesis.synthesize` makes with this seed,
    /// noise and thread count: byte-identical to it.
    public func run(seed: UInt64, noise: Float, threads: Int, progress: Progress? = nil) throws -> Image {
        guard threads >= 1 else { throw UnclipError.usage("threads must be at least 1") }
        var e = engine
        e.options.seed = seed; e.options.noise = noise; e.options.threads = threads
        let result = e.run(progress: progress)
        let (w, h) = e.levels[0]
        // Drop the texture-feature channels.
        return FloatImage(width: w, height: h, channels: 3, data: Array(result.data[0..<(3 * w * h)])).image()
    }
}

/// One synthesis run: the pyramids and the level loop.
private struct Engine: Sendable {
    var options: SynthesisOptions
    var levels: [(w: Int, h: Int)]
    /// Per level, finest first.
    var knownLevels: [FloatImage?] = []
    var holeLevels: [[Float]] = []
    /// Per level, the known image's texture-feature planes spread into the
    /// hole (by pull-push, or along its edges with `texturePriorAlongEdges`),
    /// when `texturePrior` is on; else empty.
    var texturePriors: [[Float]] = []
    var atlases: [SourceAtlas] = []
    /// Per level, the known image's dominant offsets at that level's scale
    /// (empty unless `dominantOffsets` is on for an inpainting).
    var levelOffsets: [[(dx: Int, dy: Int)]] = []
    let blendInit: [FloatImage]

    init(sources: [WeightedExemplar], width: Int, height: Int, known: FloatImage?, hole: [Float], options: SynthesisOptions) {
        self.options = options
        let p = options.patchSize
        // Every exemplar level must still hold a few patches.
        let smallestExemplarSide = sources.map { min($0.image.width, $0.image.height) }.min()!
        var lv = ImagePyramid.sizes(width: width, height: height, coarsest: options.coarsestSize, minSide: 2 * p)
        while lv.count > 1 && smallestExemplarSide >> (lv.count - 1) < 2 * p { lv.removeLast() }

        let exFloat = sources.map { FloatImage($0.image.rgb()) }
        let exUsable = sources.map { s in s.usable.map { $0.map { min(1, max(0, $0)) } } ?? [Float](repeating: 1, count: s.image.pixelCount) }
        // The exemplars at `scale` of their size, with their texture
        // features, stacked into one atlas.
        func atlas(scale: Double) -> (atlas: SourceAtlas, featured: [FloatImage]) {
            var exs: [FloatImage] = [], us: [[Float]?] = []
            for (i, ex) in exFloat.enumerated() {
                if scale == 1 { exs.append(ex); us.append(exUsable[i]); continue }
                let w = max(1, Int((Double(ex.width) * scale).rounded())), h = max(1, Int((Double(ex.height) * scale).rounded()))
                let (e, u) = ImagePyramid.downsample(ex, weight: exUsable[i], width: w, height: h)
                exs.append(e); us.append(u)
            }
            let featured = options.textureWeight > 0
                ? zip(exs, us).map { TextureFeatures.appending(to: $0, trust: $1, weight: options.textureWeight) } : exs
            return (SourceAtlas(exemplars: featured, usable: us, weights: sources.map(\.weight), patch: p,
                                penaltyScale: options.exemplarPenalty * Float(p * p * 3)), featured)
        }
        var kept: [(w: Int, h: Int)] = []
        var lastExemplars: [FloatImage] = []
        for (l, size) in lv.enumerated() {
            let (atlas, featured) = atlas(scale: pow(0.5, Double(l)))
            // Holes grow relative to the image at coarse levels; stop before
            // too few whole patches are left to copy from.
            if l > 0 && atlas.validList.count < Engine.minSourcePatches { break }
            atlases.append(atlas)
            kept.append(size)
            lastExemplars = featured
            if let known {
                let trust = hole.map { 1 - $0 }
                var k = known, levelHole = hole
                if l > 0 {
                    let (kl, t) = ImagePyramid.downsample(known, weight: trust, width: size.w, height: size.h)
                    // A coarse pixel is known when any of what it covers is
                    // (at least 1%), at the mean of those known pixels, as
                    // in PyPatchMatch's masked pyramid: thin strokes vanish
                    // above the finest levels instead of being invented
                    // there from whatever matches their blurred colour.
                    k = kl; levelHole = t.map { $0 >= Engine.coarseKnownTrust ? 0 : 1 }
                }
                if options.textureWeight > 0 {
                    k = TextureFeatures.appending(to: k, trust: levelHole.map { 1 - $0 }, weight: options.textureWeight)
                }
                var prior: [Float] = []
                if options.textureWeight > 0 && options.texturePrior > 0 {
                    let features = FloatImage(width: k.width, height: k.height, channels: 2,
                                              data: Array(k.data[(k.channels - 2) * k.planeSize..<k.channels * k.planeSize]))
                    let levelTrust = levelHole.map { 1 - $0 }
                    if options.texturePriorAlongEdges {
                        let n = k.planeSize, colours = min(3, k.channels - 2)
                        var gray = [Float](repeating: 0, count: n)
                        for c in 0..<colours { for i in 0..<n { gray[i] += k.data[c * n + i] / Float(colours) } }
                        prior = CoherenceTransport.fill(features, gray: gray, trust: levelTrust).data
                    } else {
                        prior = ImagePyramid.pullPushFill(features, trust: levelTrust).data
                    }
                    if options.texturePriorGain != 1 { prior = prior.map { $0 * options.texturePriorGain } }
                }
                knownLevels.append(k); holeLevels.append(levelHole); texturePriors.append(prior)
            } else {
                knownLevels.append(nil)
                holeLevels.append([Float](repeating: 1, count: size.w * size.h))
                texturePriors.append([])
            }
        }
        levels = kept
        levelOffsets = kept.map { _ in [] }
        let selfExemplar = known != nil && sources.count == 1
            && sources[0].image.width == width && sources[0].image.height == height
        if options.dominantOffsets > 0 && selfExemplar {
            // Found at about 128 pixels across, where the search is cheap
            // (He & Sun also work on a reduced image), ignoring offsets under
            // 1/15 of the image: every patch resembles its neighbours. A
            // long strip's coarsest level is still long, so it gets a
            // reduced copy of its own.
            let side = Engine.offsetSearchSide
            let searchAtlas: SourceAtlas
            if let ol = kept.indices.first(where: { max(kept[$0].w, kept[$0].h) <= side }) {
                searchAtlas = atlases[ol]
            } else {
                searchAtlas = atlas(scale: Double(side) / Double(max(width, height))).atlas
            }
            let searchSize = (w: searchAtlas.frames[0].w, h: searchAtlas.frames[0].h)
            let base = DominantOffsets.find(atlas: searchAtlas, count: options.dominantOffsets,
                                            minLength: max(2, max(searchSize.w, searchSize.h) / 15), seed: options.seed)
            levelOffsets = kept.map { size in
                let sx = Double(size.w) / Double(searchSize.w), sy = Double(size.h) / Double(searchSize.h)
                return base.map { (dx: Int((Double($0.dx) * sx).rounded()), dy: Int((Double($0.dy) * sy).rounded())) }
            }
        }
        let coarsest = kept[kept.count - 1]
        blendInit = known == nil ? lastExemplars.map { $0.resizedBilinear(width: coarsest.w, height: coarsest.h) } : []
        weights = sources.map(\.weight)
    }

    static let minSourcePatches = 64
    static let offsetSearchSide = 128
    static let coarseKnownTrust: Float = 0.01

    var weights: [Float] = []

    var hasSourcePatches: Bool { atlases.allSatisfy { !$0.validList.isEmpty } }

    func run(progress: Progress?) -> FloatImage {
        let p = options.patchSize
        let L = levels.count
        var current = FloatImage(width: 1, height: 1, channels: 3)
        var coarserNNF: NearestNeighbourField? = nil
        var stream: UInt64 = 0
        // With a guide, the level loop starts at its scale.
        let top = options.guide.map { g in (0..<L).first { levels[$0].w <= g.width } ?? L - 1 } ?? L - 1
        for l in stride(from: top, through: 0, by: -1) {
            progress?.update(top - l, of: top + 1, "level \(levels[l].w)x\(levels[l].h)")
            let (w, h) = levels[l]
            let hole = holeLevels[l]
            let known = knownLevels[l]
            let atlas = atlases[l]
            // Squared distance to the nearest known pixel, for the boundary
            // confidence, the ramps of the carried and the last vote, and the
            // texture prior's fade.
            let weighByConfidence = options.boundaryConfidence > 1 && known != nil
            let rampCarried = options.carriedVoteSharpness != options.voteSharpness && l < top
            let rampFinal = l == 0 && known != nil && options.finalVoteEdge > 0
                && options.finalVoteSharpness != options.voteSharpness
            let fadePrior = l > 0 && !texturePriors[l].isEmpty && options.texturePriorReach.isFinite
            let depth2 = weighByConfidence || rampCarried || rampFinal || fadePrior
                ? InpaintMask.squaredDistance(to: hole.map { $0 < 0.5 }, width: w, height: h) : nil
            let priorStrength = fadePrior ? priorFade(depth2: depth2!, level: l) : nil
            var nnf = NearestNeighbourField(width: w, height: h, patch: p,
                                            active: NearestNeighbourField.activeCorners(mask: hole, width: w, height: h, patch: p))
            var rng = SplitMix64(seed: options.seed, stream: 0xC0A25E, UInt64(l))
            if l == top, let guide = options.guide {
                var g = FloatImage(guide.rgb()).resizedBilinear(width: w, height: h)
                if options.textureWeight > 0 { g = TextureFeatures.appending(to: g, trust: nil, weight: options.textureWeight) }
                current = compose(g, known: known, hole: hole)
                pullTexture(&current, level: l, strength: priorStrength)
            } else if l == L - 1 {
                current = initialGuess(width: w, height: h, known: known, hole: hole, atlas: atlas, rng: &rng)
                pullTexture(&current, level: l, strength: priorStrength)
            } else {
                // Enlarge the previous result for the distances, then carry the
                // coarser field up: its matches, scaled, place texture at this level.
                let up = current.resizedBilinear(width: w, height: h)
                current = compose(up, known: known, hole: hole)
                pullTexture(&current, level: l, strength: priorStrength)
                if let coarse = coarserNNF {
                    let finerAtlas = atlas, coarserAtlas = atlases[l + 1]
                    for y in 0..<nnf.cornerRows {
                        for x in 0..<nnf.cornerCols where nnf.active[y * w + x] {
                            let cx = min(x * coarse.width / w, coarse.cornerCols - 1)
                            let cy = min(y * coarse.height / h, coarse.cornerRows - 1)
                            let m = coarse.match[cy * coarse.width + cx]
                            guard m >= 0 else { continue }
                            let tx = x - cx * w / coarse.width, ty = y - cy * h / coarse.height
                            let f = coarserAtlas.upsample(m, to: finerAtlas, tx: tx, ty: ty)
                            if finerAtlas.valid[Int(f)] { nnf.match[y * w + x] = f }
                        }
                    }
                }
            }
            PatchMatch.randomise(&nnf, atlas: atlas, seed: options.seed, stream: UInt64(l) << 32)
            let confidence = weighByConfidence
                ? Engine.patchConfidence(hole: hole, depth2: depth2!, width: w, height: h, patch: p,
                                         gamma: options.boundaryConfidence) : nil
            let holePixels = hole.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            // Levels far above the working scale only sharpen what the
            // coarser ones placed: one round there, a few just above it.
            let rounds = holePixels > 4 * options.refinePixels ? options.fineIterations
                : holePixels > options.refinePixels ? options.refineIterations
                : max(options.emIterations, min(options.maxEMIterations, options.roundBudget / max(1, holePixels)))
            let radius = holePixels > options.refinePixels && options.refineSearchRadius > 0 ? options.refineSearchRadius : nil
            // The very last vote is ramped in from the hole's edge
            // (`finalVoteEdge`) and rebuilds the colours only; every
            // other vote averages.
            func vote(last: Bool) {
                if last {
                    voteRamped(nnf, atlas: atlas, target: &current, hole: hole, depth2: rampFinal ? depth2 : nil,
                               known: known, confidence: confidence, deep: options.finalVoteSharpness,
                               from: options.finalVoteEdge, over: options.finalVoteEdge, channels: 3)
                } else {
                    PatchVoting.vote(nnf, atlas: atlas, target: &current, mask: hole, known: known,
                                     sharpness: options.voteSharpness, confidence: confidence, threads: options.threads)
                }
            }
            if rounds <= 0 && l < top {
                PatchMatch.improve(&nnf, target: current, atlas: atlas, iterations: 0,
                                   seed: options.seed, stream: stream, threads: options.threads)
                vote(last: l == 0)
                coarserNNF = nnf
                continue
            }
            for it in 0..<max(1, rounds) {
                var searches = options.searchIterations
                if l == top && it == 0 { searches = max(searches, 4) }
                if l < top && it == 0 {
                    // Vote the carried-up field first so the search starts from sharp texture.
                    PatchMatch.improve(&nnf, target: current, atlas: atlas, iterations: 0,
                                       seed: options.seed, stream: stream, threads: options.threads)
                    let r = Float(p / 2)
                    voteRamped(nnf, atlas: atlas, target: &current, hole: hole, depth2: rampCarried ? depth2 : nil,
                               known: known, confidence: confidence, deep: options.carriedVoteSharpness,
                               from: r, over: r, channels: nil)
                    pullTexture(&current, level: l, strength: priorStrength)
                }
                stream += 1
                PatchMatch.improve(&nnf, target: current, atlas: atlas, iterations: searches, maxRadius: radius,
                                   offsets: it == 0 ? levelOffsets[l] : [], seed: options.seed, stream: stream, threads: options.threads)
                let last = l == 0 && it == max(1, rounds) - 1
                vote(last: last)
                if !last { pullTexture(&current, level: l, strength: priorStrength) }
            }
            coarserNNF = nnf
        }
        progress?.update(top + 1, of: top + 1)
        progress?.finish()
        return current
    }

    /// Per patch corner, the mean boundary confidence of its pixels: 1 for
    /// known pixels, γ^-d for hole pixels d pixels from the nearest known
    /// one (`depth2` holds d²), blended by the soft mask. Below e^-60 the confidence stays at
    /// e^-60: votes only compare patches covering the same pixel, which
    /// differ by less than a patch in depth, and smaller values would
    /// underflow the vote's weight sums.
    static func patchConfidence(hole: [Float], depth2 d2: [Float], width w: Int, height h: Int, patch p: Int,
                                gamma: Float) -> [Float] {
        let lnG = Double(log(gamma))
        let sums = WindowSums.corners(width: w, height: h, patch: p) { i in
            let m = Double(hole[i])
            return (1 - m) + m * exp(-min(lnG * Double(d2[i]).squareRoot(), 60))
        }
        let area = Double(p * p)
        return sums.map { Float($0 / area) }
    }

    /// A vote at sharpness `deep` for hole pixels at least `from + over`
    /// pixels from the nearest known one, at `voteSharpness` within `from`,
    /// blended linearly in between; the level's starting vote from the
    /// carried-up field and the last vote take it. `depth2`: each pixel's
    /// squared distance to the nearest known one; nil votes at `deep`
    /// everywhere. Only the first `channels` channels are rebuilt.
    func voteRamped(_ nnf: NearestNeighbourField, atlas: SourceAtlas, target: inout FloatImage, hole: [Float],
                    depth2 d2: [Float]?, known: FloatImage?, confidence: [Float]?, deep: Float,
                    from: Float, over: Float, channels: Int?) {
        PatchVoting.vote(nnf, atlas: atlas, target: &target, mask: hole, known: known,
                         sharpness: d2 == nil ? deep : options.voteSharpness, confidence: confidence,
                         channels: channels, threads: options.threads)
        guard let d2 else { return }
        let n = target.planeSize
        let nearEdge = target
        PatchVoting.vote(nnf, atlas: atlas, target: &target, mask: hole, known: known,
                         sharpness: deep, confidence: confidence, channels: channels, threads: options.threads)
        for i in 0..<n where hole[i] > 0 {
            let t = min(1, max(0, (d2[i].squareRoot() - from) / max(over, 1e-6)))
            guard t < 1 else { continue }
            for c in 0..<min(target.channels, channels ?? target.channels) {
                target.data[c * n + i] = nearEdge.data[c * n + i] + t * (target.data[c * n + i] - nearEdge.data[c * n + i])
            }
        }
    }

    /// How much of the texture prior's pull each pixel of level `l` gets
    /// (`texturePriorReach`), from its squared distance to the nearest
    /// known pixel in that level's pixels.
    func priorFade(depth2 d2: [Float], level l: Int) -> [Float] {
        let reach = options.texturePriorReach, scale = Float(1 << l)
        return d2.map { exp(-max(0, $0.squareRoot() * scale - reach) / (2 * reach)) }
    }

    /// Moves the texture-feature channels of `image`'s hole pixels toward
    /// the level's texture prior, by `texturePrior` × the mask value (×
    /// `strength`, per pixel, where given).
    func pullTexture(_ image: inout FloatImage, level l: Int, strength: [Float]?) {
        let prior = texturePriors[l]
        guard !prior.isEmpty else { return }
        let hole = holeLevels[l], n = image.planeSize
        let first = image.channels - 2
        for c in 0..<2 {
            let plane = (first + c) * n
            for i in 0..<n where hole[i] > 0 {
                let a = options.texturePrior * hole[i] * (strength?[i] ?? 1)
                image.data[plane + i] += a * (prior[c * n + i] - image.data[plane + i])
            }
        }
    }

    /// Known pixels where fixed, `guess` in the hole, blended by the soft mask.
    func compose(_ guess: FloatImage, known: FloatImage?, hole: [Float]) -> FloatImage {
        guard let known else { return guess }
        var out = guess
        let n = out.planeSize
        for c in 0..<out.channels {
            for i in 0..<n {
                let m = hole[i]
                out.data[c * n + i] = m * guess.data[c * n + i] + (1 - m) * known.data[c * n + i]
            }
        }
        return out
    }

    /// The coarsest level's starting point: the hole filled ring by ring
    /// from its surroundings (onion peel), or the weighted blend of the
    /// exemplars, plus GPNN noise on the pixels to regenerate.
    func initialGuess(width w: Int, height h: Int, known: FloatImage?, hole: [Float], atlas: SourceAtlas,
                      rng: inout SplitMix64) -> FloatImage {
        var base: FloatImage
        if let known {
            // The smooth fill stays where the peel leaves a pixel without a match.
            base = ImagePyramid.pullPushFill(known, trust: hole.map { 1 - $0 })
            OnionPeel.fill(&base, hole: hole, atlas: atlas, seed: options.seed, threads: options.threads,
                           consensus: options.peelConsensus)
        } else {
            base = FloatImage(width: w, height: h, channels: blendInit[0].channels)
            let total = weights.reduce(0, +)
            for (e, img) in blendInit.enumerated() {
                let a = weights[e] / total
                for i in 0..<base.data.count { base.data[i] += a * img.data[i] }
            }
        }
        if options.noise > 0 {
            let n = w * h
            let amp = options.noise * 255
            for i in 0..<n {
                // One noise value per pixel for all channels would only shift
                // brightness; independent per channel varies colour too.
                for c in 0..<3 { base.data[c * n + i] += amp * hole[i] * rng.gaussian() }
            }
        }
        return base
    }
}
