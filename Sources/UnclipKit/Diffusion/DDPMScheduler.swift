import Foundation

/// Ancestral sampling of Ho et al. 2020 (Algorithm 2; diffusers'
/// `DDPMScheduler`): the posterior mean of x_{t−1} from x̂₀ (eq. 7), plus
/// noise of the configured variance. Kandinsky 2.2's decoder ships with it.
public final class DDPMScheduler: DiffusionScheduler {
    public let schedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    public let initNoiseSigma: Float = 1
    let variance: String
    let clip: Float?

    public var usesLearnedVariance: Bool { variance == "learned" || variance == "learned_range" }

    init(_ c: DiffusersConfig) throws {
        schedule = try NoiseSchedule(c, defaultSpacing: .leading)
        variance = try c.option("variance_type", "fixed_small",
                                supported: ["fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"])!
        clip = try NoiseSchedule.clipRange(c)
        timesteps = Array((0..<schedule.trainSteps).reversed())
    }

    public func setTimesteps(_ n: Int) throws {
        try schedule.checkSteps(n)
        timesteps = try schedule.timesteps(n)
    }

    func previous(_ t: Int) -> Int {
        guard let i = timesteps.firstIndex(of: t) else { return t - 1 }
        return i + 1 < timesteps.count ? timesteps[i + 1] : -1
    }

    public func step(_ modelOutput: [Float], timestep t: Int, sample: [Float], noise: (Int) -> [Float]) -> [Float] {
        let n = sample.count
        let learned = usesLearnedVariance && modelOutput.count == 2 * n
        let out = Array(modelOutput.prefix(n))
        let prevT = previous(t)
        let a = schedule.alphasCumprod[t], aPrev = prevT >= 0 ? schedule.alphasCumprod[prevT] : 1
        let b = 1 - a, bPrev = 1 - aPrev
        let alphaT = a / aPrev, betaT = 1 - alphaT
        let x0Coeff = aPrev.squareRoot() * betaT / b, xtCoeff = alphaT.squareRoot() * bPrev / b
        var prev = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var x0 = schedule.predictions(out[i], sample: sample[i], alphaProd: a).x0
            if let clip { x0 = min(max(x0, -clip), clip) }
            prev[i] = x0Coeff * x0 + xtCoeff * sample[i]
        }
        guard t > 0 else { return prev }
        let z = noise(n)
        // β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, the posterior variance (eq. 7), floored before any log.
        let small = max(bPrev / b * betaT, 1e-20)
        for i in 0..<n {
            let std: Float
            switch variance {
            case "fixed_small": std = small.squareRoot()
            case "fixed_small_log": std = expf(0.5 * logf(small))   // used as a standard deviation, unsquared
            case "fixed_large": std = betaT.squareRoot()
            case "fixed_large_log": std = logf(betaT).squareRoot()
            case "learned": std = learned ? modelOutput[n + i].squareRoot() : small.squareRoot()
            default:   // learned_range (Nichol & Dhariwal 2021, eq. 15)
                let frac = learned ? (modelOutput[n + i] + 1) / 2 : 0
                std = expf(0.5 * (frac * logf(betaT) + (1 - frac) * logf(small)))
            }
            prev[i] += std * z[i]
        }
        return prev
    }
}
