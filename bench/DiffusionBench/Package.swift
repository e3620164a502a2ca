// swift-tools-version:6.0
// The Swift side of bench/diffusion: times the engine's UNet and MoVQ on a
// checkpoint the bench script makes. A package of its own so that the
// product's build and CI never compile it.
import PackageDescription

let package = Package(
    name: "DiffusionBench",
    dependencies: [.package(name: "unclip", path: "../..")],
    targets: [
        .executableTarget(name: "diffusion-bench", dependencies: [.product(name: "UnclipKit", package: "unclip")]),
    ],
    swiftLanguageModes: [.v5]
)
