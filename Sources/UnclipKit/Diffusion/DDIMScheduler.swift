/// Deterministic DDIM sampling (Song et al. 2021, eq. 12 with σ = 0, i.e.
/// η = 0; diffusers' `DDIMScheduler`), and its inversion: the same ODE run
/// from the image toward noise, which unCLIP uses to find the x_T that
/// decodes back to a given photo (Ramesh et al. 2022, §3.1).
public final class DDIMScheduler: DiffusionScheduler {
    public let schedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    public let initNoiseSigma: Float = 1
    public let usesLearnedVariance = false
    let clip: Float?
    /// ᾱ for the step past the last timestep: 1, or ᾱ_0 without `set_alpha_to_one`.
    let finalAlphaCumprod: Float
    private var steps = 0

    init(_ c: DiffusersConfig) throws {
        schedule = try NoiseSchedule(c, defaultSpacing: .leading)
        clip = try NoiseSchedule.clipRange(c)
        finalAlphaCumprod = try c.bool("set_alpha_to_one", true) ? 1 : schedule.alphasCumprod[0]
    }

    public func setTimesteps(_ n: Int) throws {
        try schedule.checkSteps(n)
        steps = n
        timesteps = try schedule.timesteps(n)
    }

    public func step(_ modelOutput: [Float], timestep t: Int, sample: [Float], noise: (Int) -> [Float]) -> [Float] {
        precondition(steps > 0, "setTimesteps first")
        let prevT = t - schedule.trainSteps / steps
        let a = schedule.alphasCumprod[t], aPrev = prevT >= 0 ? schedule.alphasCumprod[prevT] : finalAlphaCumprod
        return schedule.ddimMove(modelOutput, sample: sample, alphaProd: a, alphaProdNext: aPrev, clip: clip)
    }

    /// The inversion's scheduler built from the same config (diffusers' `DDIMInverseScheduler.from_config`).
    public static func inverse(_ c: DiffusersConfig) throws -> DDIMInverseScheduler { try DDIMInverseScheduler(c) }
}

/// DDIM run backwards (diffusers' `DDIMInverseScheduler`): ascending
/// timesteps, each step moving x from the previous timestep's noise level to
/// this one's with the network's ε̂ at the previous level.
public final class DDIMInverseScheduler {
    public let schedule: NoiseSchedule
    public private(set) var timesteps: [Int] = []
    let clip: Float?
    let initialAlphaCumprod: Float
    private var steps = 0

    init(_ c: DiffusersConfig) throws {
        schedule = try NoiseSchedule(c, defaultSpacing: .leading)
        guard schedule.spacing != .linspace else {
            throw UnclipError.model("\(c.name): timestep_spacing \"linspace\" is not supported by DDIM inversion (leading, trailing)")
        }
        clip = try NoiseSchedule.clipRange(c)
        initialAlphaCumprod = try c.bool("set_alpha_to_one", true) ? 1 : schedule.alphasCumprod[0]
    }

    public func setTimesteps(_ n: Int) throws {
        try schedule.checkSteps(n)
        steps = n
        timesteps = try schedule.timesteps(n).reversed()
    }

    /// x at timestep t from x at the previous (lower) timestep, whose ε̂ the network gave at t.
    public func step(_ modelOutput: [Float], timestep t: Int, sample: [Float]) -> [Float] {
        precondition(steps > 0, "setTimesteps first")
        let from = min(t - schedule.trainSteps / steps, schedule.trainSteps - 1)
        let a = from >= 0 ? schedule.alphasCumprod[from] : initialAlphaCumprod
        return schedule.ddimMove(modelOutput, sample: sample, alphaProd: a, alphaProdNext: schedule.alphasCumprod[t], clip: clip)
    }
}
