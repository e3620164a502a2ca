import Foundation

/// The forward-process noise levels every scheduler derives from its config
/// (Ho et al. 2020, §2): β_t for the training timesteps, ᾱ_t = ∏(1 − β_s),
/// and the options all of diffusers' schedulers share.
public struct NoiseSchedule: Sendable {
    public let trainSteps: Int
    public let betas: [Float]
    /// ᾱ_t, accumulated in double and stored in float as torch.cumprod does on the CPU.
    public let alphasCumprod: [Float]
    public let prediction: Prediction
    public let spacing: Spacing
    public let stepsOffset: Int
    /// The config file's name, for errors found when steps are chosen.
    let configName: String

    public static let maxTrainSteps = 100_000

    public enum Prediction: String, Sendable { case epsilon, sample, vPrediction = "v_prediction" }
    public enum Spacing: String, Sendable { case linspace, leading, trailing }

    /// Reads the shared keys, with `defaults` standing in for the class's own defaults where the file lacks a key.
    init(_ c: DiffusersConfig, defaultSpacing: Spacing, defaultOffset: Int = 0, defaultBetas: String = "linear") throws {
        let name = c.name
        configName = name
        trainSteps = try c.positiveInt("num_train_timesteps", 1000)
        // Tables of this length are built at once; real schedulers train on 1000.
        guard trainSteps <= Self.maxTrainSteps else {
            throw UnclipError.model("\(name): num_train_timesteps \(trainSteps) is more than the \(Self.maxTrainSteps) unclip accepts")
        }
        let start = try c.double("beta_start", 0.0001), end = try c.double("beta_end", 0.02)
        try c.require("trained_betas", is: nil)
        try c.require("rescale_betas_zero_snr", is: false)
        try c.require("thresholding", is: false)
        let n = trainSteps
        let betas: [Float]
        switch try c.option("beta_schedule", defaultBetas, supported: ["linear", "scaled_linear", "squaredcos_cap_v2"]) {
        case "scaled_linear":
            betas = Self.linspace(Float(start.squareRoot()), Float(end.squareRoot()), trainSteps).map { $0 * $0 }
        case "squaredcos_cap_v2":
            // Nichol & Dhariwal 2021, eq. 17, discretised in double as betas_for_alpha_bar does.
            func alphaBar(_ t: Double) -> Double { let v = cos((t + 0.008) / 1.008 * Double.pi / 2); return v * v }
            betas = (0..<n).map { i in
                let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
                return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
            }
        default:
            betas = Self.linspace(Float(start), Float(end), trainSteps)
        }
        self.betas = betas
        var acc = 1.0
        alphasCumprod = betas.map { acc *= Double(1 - $0); return Float(acc) }
        guard let p = Prediction(rawValue: try c.string("prediction_type", "epsilon")!) else {
            throw UnclipError.model("\(name): prediction_type \"\(try c.string("prediction_type", nil)!)\" is not supported (epsilon, sample, v_prediction)")
        }
        prediction = p
        let s = try c.string("timestep_spacing", defaultSpacing.rawValue)!
        guard let sp = Spacing(rawValue: s) else {
            throw UnclipError.model("\(name): timestep_spacing \"\(s)\" is not supported (linspace, leading, trailing)")
        }
        spacing = sp
        stepsOffset = try c.int("steps_offset", defaultOffset)
        guard stepsOffset >= 0 && stepsOffset < trainSteps else {
            throw UnclipError.model("\(name): steps_offset \(stepsOffset) is outside the \(trainSteps) training timesteps (0…\(trainSteps - 1))")
        }
    }

    /// torch.linspace in float32: from the start for the first half, from the end for the second.
    static func linspace(_ a: Float, _ b: Float, _ n: Int) -> [Float] {
        guard n > 1 else { return [a] }
        let step = (b - a) / Float(n - 1)
        return (0..<n).map { i in i < n / 2 ? a + step * Float(i) : b - step * Float(n - 1 - i) }
    }

    /// x̂₀ and ε̂ from the model's output at ᾱ_t (DDIM, Song et al. 2021, eq. 12).
    func predictions(_ out: Float, sample x: Float, alphaProd a: Float) -> (x0: Float, eps: Float) {
        let b = 1 - a
        switch prediction {
        case .epsilon: return ((x - b.squareRoot() * out) / a.squareRoot(), out)
        case .sample: return (out, (x - a.squareRoot() * out) / b.squareRoot())
        case .vPrediction: return (a.squareRoot() * x - b.squareRoot() * out, a.squareRoot() * out + b.squareRoot() * x)
        }
    }

    /// The clamp of x̂₀ that `clip_sample` asks for (the key's default is true in every scheduler here), or nil.
    static func clipRange(_ c: DiffusersConfig) throws -> Float? {
        try c.bool("clip_sample", true) ? Float(try c.double("clip_sample_range", 1)) : nil
    }

    /// Throws unless n steps can be taken from the training timesteps.
    func checkSteps(_ n: Int) throws {
        guard n >= 1, n <= trainSteps else {
            throw UnclipError.usage("the number of steps must be between 1 and \(trainSteps), not \(n)")
        }
    }

    /// x at ᾱ' from x at ᾱ along DDIM's deterministic path: √ᾱ'·x̂₀ + √(1 − ᾱ')·ε̂,
    /// x̂₀ clamped where `clip` says (diffusers keeps the model's ε̂ then:
    /// use_clipped_model_output is off). Both directions of DDIM take it.
    func ddimMove(_ out: [Float], sample: [Float], alphaProd a: Float, alphaProdNext a2: Float, clip: Float?) -> [Float] {
        let dir = (1 - a2).squareRoot(), keep = a2.squareRoot()
        return (0..<sample.count).map { i in
            var (x0, eps) = predictions(out[i], sample: sample[i], alphaProd: a)
            if let clip { x0 = min(max(x0, -clip), clip) }
            return keep * x0 + dir * eps
        }
    }

    /// √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε: the forward process at timestep t (`add_noise`).
    public func addNoise(_ x0: [Float], noise: [Float], timestep t: Int) -> [Float] {
        let a = alphasCumprod[t].squareRoot(), s = (1 - alphasCumprod[t]).squareRoot()
        return zip(x0, noise).map { a * $0 + s * $1 }
    }

    /// The integer timesteps for n steps, descending, as DDPM's and DDIM's set_timesteps compute them with numpy.
    func timesteps(_ n: Int) throws -> [Int] {
        try inRange(spacedTimesteps(n))
    }

    /// `timesteps` unchanged when each indexes the training schedule. With
    /// "leading" spacing a positive steps_offset shifts every step up, and
    /// for few steps the last can pass the final training timestep, where
    /// diffusers would index past its tables.
    func inRange(_ timesteps: [Int]) throws -> [Int] {
        if let t = timesteps.first(where: { $0 < 0 || $0 >= trainSteps }) {
            throw UnclipError.model("\(configName): steps_offset \(stepsOffset) puts timestep \(t) past the \(trainSteps) training timesteps for \(timesteps.count) steps")
        }
        return timesteps
    }

    private func spacedTimesteps(_ n: Int) -> [Int] {
        switch spacing {
        case .linspace:
            return Self.linspaceNumpy(0, Double(trainSteps - 1), n).map { Int($0.rounded(.toNearestOrEven)) }.reversed()
        case .leading:
            let ratio = trainSteps / n
            return (0..<n).map { $0 * ratio + stepsOffset }.reversed()
        case .trailing:
            return Self.arangeNumpy(Double(trainSteps), 0, -Double(trainSteps) / Double(n)).map { Int($0.rounded(.toNearestOrEven)) - 1 }
        }
    }

    /// np.linspace(a, b, n): a + i·step, the last value exactly b.
    static func linspaceNumpy(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return n == 1 ? [a] : [] }
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { $0 == n - 1 ? b : Double($0) * step + a }
    }

    /// np.arange(a, b, step) for floats: ⌈(b − a)/step⌉ values a + i·step.
    static func arangeNumpy(_ a: Double, _ b: Double, _ step: Double) -> [Double] {
        let n = max(0, Int(((b - a) / step).rounded(.up)))
        return (0..<n).map { a + Double($0) * step }
    }
}

/// A sampler of the reverse process: timesteps for n steps, then one update
/// per network evaluation, as diffusers' schedulers (`set_timesteps`, `step`).
public protocol DiffusionScheduler: AnyObject {
    var schedule: NoiseSchedule { get }
    /// Descending timesteps of the current run.
    var timesteps: [Int] { get }
    /// The initial noise's standard deviation (1 for all of these).
    var initNoiseSigma: Float { get }
    /// Whether `step` wants the network's learned-variance channels as well.
    var usesLearnedVariance: Bool { get }
    func setTimesteps(_ n: Int) throws
    /// x_{t−1} from the network's output at timestep t (the noise channels,
    /// followed by the variance channels where `usesLearnedVariance`).
    /// `noise(count)` supplies standard normal draws for stochastic steps.
    func step(_ modelOutput: [Float], timestep t: Int, sample: [Float], noise: (Int) -> [Float]) -> [Float]
}

public enum SchedulerKind: String, CaseIterable, Sendable {
    case ddpm, ddim, dpmpp = "dpm++"

    var className: String {
        switch self {
        case .ddpm: return "DDPMScheduler"
        case .ddim: return "DDIMScheduler"
        case .dpmpp: return "DPMSolverMultistepScheduler"
        }
    }
}

public enum Schedulers {
    /// The checkpoint's own scheduler, or `kind` built from the same
    /// `scheduler_config.json` as diffusers' `from_config` builds it: the
    /// file's keys that the class has, the class's defaults for the rest.
    public static func make(_ config: DiffusersConfig, kind: SchedulerKind? = nil) throws -> DiffusionScheduler {
        let cls: String
        if let kind { cls = kind.className } else {
            guard let own = config.className else { throw UnclipError.model("\(config.name): no _class_name") }
            cls = own
        }
        switch cls {
        case "DDPMScheduler": return try DDPMScheduler(config)
        case "DDIMScheduler": return try DDIMScheduler(config)
        case "DPMSolverMultistepScheduler": return try DPMSolverMultistepScheduler(config)
        case "UnCLIPScheduler": return try UnCLIPScheduler(config)
        default:
            throw UnclipError.model("\(config.name): scheduler \(cls) is not supported (DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, UnCLIPScheduler)")
        }
    }
}
