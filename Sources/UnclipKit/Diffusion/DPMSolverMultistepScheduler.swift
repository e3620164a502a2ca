import Foundation

/// DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++", Algorithm 2;
/// diffusers' `DPMSolverMultistepScheduler` with its defaults): a
/// second-order exponential integrator in λ = log(α/σ) on the data
/// prediction x̂₀, reusing the previous step's x̂₀, so good images take
/// about 20 network evaluations.
public final class DPMSolverMultistepScheduler: DiffusionScheduler {
    public let schedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    public let initNoiseSigma: Float = 1
    public let usesLearnedVariance = false
    let order: Int
    let heun: Bool
    let lowerOrderFinal: Bool, eulerAtFinal: Bool
    let finalSigmaZero: Bool
    /// σ_t/α_t per inference step, then the final one.
    private var sigmas: [Float] = []
    private var previousX0: [Float]? = nil
    private var stepIndex = 0
    private var lowerOrderCount = 0

    init(_ c: DiffusersConfig) throws {
        schedule = try NoiseSchedule(c, defaultSpacing: .linspace)
        order = try c.int("solver_order", 2)
        guard order == 1 || order == 2 else { throw UnclipError.model("\(c.name): solver_order \(order) is not supported (1, 2)") }
        _ = try c.option("algorithm_type", "dpmsolver++", supported: ["dpmsolver++"])
        heun = try c.option("solver_type", "midpoint", supported: ["midpoint", "heun"]) == "heun"
        lowerOrderFinal = try c.bool("lower_order_final", true)
        eulerAtFinal = try c.bool("euler_at_final", false)
        finalSigmaZero = try c.option("final_sigmas_type", "zero", supported: ["zero", "sigma_min"]) == "zero"
        for key in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas",
                    "use_dynamic_shifting"] {
            try c.require(key, is: false)
        }
        if let lmc = c.values["lambda_min_clipped"] as? NSNumber, lmc.doubleValue.isFinite {
            throw UnclipError.model("\(c.name): lambda_min_clipped = \(lmc) is not supported (only -inf)")
        }
        // A learned-variance checkpoint's extra channels are dropped before the solver sees them, as diffusers does.
        _ = try c.string("variance_type", nil)
    }

    public func setTimesteps(_ n: Int) throws {
        try schedule.checkSteps(n)
        let last = schedule.trainSteps
        let spaced: [Int]
        switch schedule.spacing {
        case .linspace:
            spaced = Array(NoiseSchedule.linspaceNumpy(0, Double(last - 1), n + 1).map { Int($0.rounded(.toNearestOrEven)) }.reversed().dropLast())
        case .leading:
            let ratio = last / (n + 1)
            spaced = Array((0...n).map { $0 * ratio }.reversed().dropLast()).map { $0 + schedule.stepsOffset }
        case .trailing:
            spaced = NoiseSchedule.arangeNumpy(Double(last), 0, -Double(schedule.trainSteps) / Double(n)).map { Int($0.rounded(.toNearestOrEven)) - 1 }
        }
        timesteps = try schedule.inRange(spaced)
        let all = schedule.alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
        let a0 = schedule.alphasCumprod[0]
        sigmas = timesteps.map { all[$0] } + [finalSigmaZero ? 0 : ((1 - a0) / a0).squareRoot()]
        previousX0 = nil
        stepIndex = 0
        lowerOrderCount = 0
    }

    /// (α_t, σ_t) of a noise level given as σ/α.
    private func alphaSigma(_ s: Float) -> (Float, Float) {
        let alpha = 1 / (s * s + 1).squareRoot()
        return (alpha, s * alpha)
    }

    public func step(_ modelOutput: [Float], timestep t: Int, sample: [Float], noise: (Int) -> [Float]) -> [Float] {
        if stepIndex == 0, let i = timesteps.firstIndex(of: t) { stepIndex = i }
        let n = timesteps.count
        let finalLower = stepIndex == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalSigmaZero)
        let secondLower = stepIndex == n - 2 && lowerOrderFinal && n < 15
        _ = secondLower   // the third-order update it would lower is not implemented (solver_order ≤ 2)
        let (alphaS, sigmaS) = alphaSigma(sigmas[stepIndex])
        // The data prediction x̂₀ (DPM-Solver++ works on it, not on ε).
        let x0 = (0..<sample.count).map { i -> Float in
            switch schedule.prediction {
            case .epsilon: return (sample[i] - sigmaS * modelOutput[i]) / alphaS
            case .sample: return modelOutput[i]
            case .vPrediction: return alphaS * sample[i] - sigmaS * modelOutput[i]
            }
        }
        let (alphaT, sigmaT) = alphaSigma(sigmas[stepIndex + 1])
        let lambdaT = logf(alphaT) - logf(sigmaT), lambdaS = logf(alphaS) - logf(sigmaS)
        let h = lambdaT - lambdaS
        let c0 = sigmaT / sigmaS, c1 = alphaT * (expf(-h) - 1)
        var prev: [Float]
        if order == 1 || lowerOrderCount < 1 || finalLower || previousX0 == nil {
            prev = (0..<sample.count).map { c0 * sample[$0] - c1 * x0[$0] }
        } else {
            let m1 = previousX0!
            let (alphaS1, sigmaS1) = alphaSigma(sigmas[stepIndex - 1])
            let lambdaS1 = logf(alphaS1) - logf(sigmaS1)
            let r0 = (lambdaS - lambdaS1) / h
            let d1Coeff = heun ? alphaT * ((expf(-h) - 1) / h + 1) : -0.5 * c1
            prev = (0..<sample.count).map { i in
                let d1 = (1 / r0) * (x0[i] - m1[i])
                return c0 * sample[i] - c1 * x0[i] + d1Coeff * d1
            }
        }
        previousX0 = x0
        if lowerOrderCount < order { lowerOrderCount += 1 }
        stepIndex += 1
        return prev
    }
}
