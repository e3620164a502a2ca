// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "unclip",
    products: [
        .executable(name: "unclip", targets: ["unclip"]),
        .library(name: "UnclipKit", targets: ["UnclipKit"]),
        // What each fuzz target checks: fuzz/ links it into the libFuzzer
        // binary, and the test suite runs it on every finding's input.
        .library(name: "UnclipFuzzChecks", targets: ["UnclipFuzzChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // C kernels for what Swift cannot reach: AVX2/FMA, chosen at run time.
        .target(name: "CKernels"),
        .target(
            name: "UnclipKit",
            dependencies: ["CPNG", "CJPEG", "CBLAS", "COpenSSL", "CKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "unclip",
            dependencies: [
                "UnclipKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "UnclipFuzzChecks", dependencies: ["UnclipKit"]),
        .testTarget(name: "UnclipKitTests", dependencies: ["UnclipKit", "UnclipFuzzChecks"]),
        .testTarget(name: "UnclipCLITests", dependencies: ["UnclipKit", "unclip"]),
    ],
    swiftLanguageModes: [.v5]
)
