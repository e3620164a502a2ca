// swift-tools-version:6.0
// The libFuzzer binary for unclip's parsers (see fuzz/README.md). A package
// of its own so that the product's build never compiles it; `fuzz/run`
// builds it with -sanitize=fuzzer,address.
import PackageDescription

let package = Package(
    name: "UnclipFuzz",
    dependencies: [.package(name: "unclip", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "unclip-fuzz", dependencies: ["CFuzzerDriver", .product(name: "UnclipFuzzChecks", package: "unclip")]),
    ],
    swiftLanguageModes: [.v5]
)
