import Foundation
import UnclipKit

// diffusion-bench unet DIR [LATENT_H LATENT_W]   one guided UNet step (batch 2: negative and positive embedding)
// diffusion-bench decode DIR [H W]               MoVQ decode of an H×W image's latents
// diffusion-bench encode DIR [H W]               MoVQ encode of an H×W image
// Prints one JSON line: load and run seconds (best of RUNS, default 1, after no warm-up: the first run is timed too).
let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: diffusion-bench unet|decode|encode DIR [H W]\n".data(using: .utf8)!)
    exit(64)
}
let runs = Int(ProcessInfo.processInfo.environment["RUNS"] ?? "1") ?? 1
if let t = ProcessInfo.processInfo.environment["THREADS"], let n = Int(t) { BLAS.threads = n }
// For experiments: the fewest tiles for which 3×3 convolutions take the Winograd path.
if let t = ProcessInfo.processInfo.environment["WINOGRAD_MIN_TILES"], let n = Int(t) { Conv2d.winogradMinTiles = n }
let dir = URL(fileURLWithPath: args[2])
func now() -> Double { Date().timeIntervalSince1970 }
func seeded(_ n: Int, _ seed: UInt64) -> [Float] { var r = SplitMix64(seed: seed); return (0..<n).map { _ in r.gaussian() } }
var times: [Double] = []
let t0 = now()
switch args[1] {
case "unet":
    let h = args.count > 4 ? Int(args[3])! : 64, w = args.count > 4 ? Int(args[4])! : 64
    let unet = try UNet2DConditionModel(directory: dir)
    let load = now() - t0
    let c = unet.config
    let x = Tensor(shape: [2, c.inChannels, h, w], values: seeded(2 * c.inChannels * h * w, 1))
    let e = Tensor(shape: [2, c.imageEmbedDim], values: seeded(2 * c.imageEmbedDim, 2))
    for _ in 0..<runs { let s = now(); _ = unet(x, timestep: 500, imageEmbeds: e); times.append(now() - s) }
    print("{\"load\": \(load), \"run\": \(times.min()!), \"runs\": \(times)}")
case "decode", "encode":
    let h = args.count > 4 ? Int(args[3])! : 512, w = args.count > 4 ? Int(args[4])! : 512
    let movq = try MoVQ(directory: dir)
    let load = now() - t0
    let f = movq.config.scaleFactor
    for _ in 0..<runs {
        if args[1] == "decode" {
            let z = Tensor(shape: [1, movq.config.latentChannels, h / f, w / f], values: seeded(movq.config.latentChannels * h * w / (f * f), 3))
            let s = now(); _ = movq.decode(z); times.append(now() - s)
        } else {
            let x = Tensor(shape: [1, 3, h, w], values: seeded(3 * h * w, 4).map { max(-1, min(1, $0 * 0.5)) })
            let s = now(); _ = movq.encode(x); times.append(now() - s)
        }
    }
    print("{\"load\": \(load), \"run\": \(times.min()!), \"runs\": \(times)}")
default:
    FileHandle.standardError.write("unknown mode \(args[1])\n".data(using: .utf8)!)
    exit(64)
}
