import Foundation

/// The prior's sampler (diffusers' `UnCLIPScheduler`, from karlo): DDPM
/// ancestral steps (Ho et al. 2020, Algorithm 2) between timesteps spaced
/// (T − 1)/(n − 1) apart, β recomputed for each jump from ᾱ, the predicted
/// sample clipped to ±`clip_sample_range`, and the posterior's standard
/// deviation as the noise scale (`fixed_small_log`).
public final class UnCLIPScheduler: DiffusionScheduler {
    public let schedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    public let initNoiseSigma: Float = 1
    public var usesLearnedVariance: Bool { false }
    let clip: Float?

    init(_ c: DiffusersConfig) throws {
        // The class fixes the cosine schedule (Nichol & Dhariwal 2021) and has no beta_schedule default of its own.
        schedule = try NoiseSchedule(c, defaultSpacing: .linspace, defaultBetas: "squaredcos_cap_v2")
        try c.require("beta_schedule", is: "squaredcos_cap_v2")
        guard schedule.prediction != .vPrediction else {
            throw UnclipError.model("\(c.name): prediction_type \"v_prediction\" is not supported by UnCLIPScheduler (epsilon, sample)")
        }
        // learned_range needs a variance output, which the prior does not have.
        _ = try c.option("variance_type", "fixed_small_log", supported: ["fixed_small_log"])
        clip = try NoiseSchedule.clipRange(c)
        timesteps = Array((0..<schedule.trainSteps).reversed())
    }

    /// round(i·(T − 1)/(n − 1)) for i < n, descending, as numpy rounds (half to even).
    public func setTimesteps(_ n: Int) throws {
        try schedule.checkSteps(n)
        guard n >= 2 else { throw UnclipError.usage("the prior's sampler needs at least 2 steps, not \(n)") }
        let ratio = Double(schedule.trainSteps - 1) / Double(n - 1)
        timesteps = (0..<n).map { Int((Double($0) * ratio).rounded(.toNearestOrEven)) }.reversed()
    }

    public func step(_ modelOutput: [Float], timestep t: Int, sample: [Float], noise: (Int) -> [Float]) -> [Float] {
        // The last step goes to t − 1, as the reference's prev_timestep None does.
        let prevT = timesteps.firstIndex(of: t).flatMap { $0 + 1 < timesteps.count ? timesteps[$0 + 1] : nil } ?? t - 1
        let a = schedule.alphasCumprod[t], aPrev = prevT >= 0 ? schedule.alphasCumprod[prevT] : 1
        let b = 1 - a, bPrev = 1 - aPrev
        let beta = prevT == t - 1 ? schedule.betas[t] : 1 - a / aPrev
        let alpha = 1 - beta
        let x0Coeff = aPrev.squareRoot() * beta / b, xtCoeff = alpha.squareRoot() * bPrev / b
        var prev = (0..<sample.count).map { i -> Float in
            var x0 = schedule.predictions(modelOutput[i], sample: sample[i], alphaProd: a).x0
            if let clip { x0 = min(max(x0, -clip), clip) }
            return x0Coeff * x0 + xtCoeff * sample[i]
        }
        guard t > 0 else { return prev }
        let z = noise(sample.count)
        let std = expf(0.5 * logf(max(bPrev / b * beta, 1e-20)))
        for i in 0..<prev.count { prev[i] += std * z[i] }
        return prev
    }
}
