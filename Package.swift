// swift-tools-version: 6.2
import PackageDescription

/// Settings shared by every target: Swift 6 mode, strict concurrency, warnings as errors.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "failover-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "failover-sim", targets: ["failover-sim"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // PURE: bytes <-> messages, HMAC-SHA256, replay window. stdlib + swift-crypto only.
        .target(
            name: "FailoverWire",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // PURE: the election state machine and failure detector. Time and randomness come in as arguments.
        .target(
            name: "FailoverCore",
            dependencies: ["FailoverWire"],
            swiftSettings: strictSettings
        ),
        // PURE: deterministic simulator (virtual clock, simulated links, invariant checker).
        .target(
            name: "FailoverSim",
            dependencies: ["FailoverCore", "FailoverWire"],
            swiftSettings: strictSettings
        ),
        // The agent's TOML configuration: parsing and validation with file/key/fix errors.
        .target(
            name: "FailoverConfig",
            dependencies: ["FailoverCore", "FailoverWire", "TOMLKit"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "failover-sim",
            dependencies: [
                "FailoverSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverWireTests",
            dependencies: ["FailoverWire", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverCoreTests",
            dependencies: ["FailoverCore", "FailoverWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverSimTests",
            dependencies: ["FailoverSim", "FailoverCore", "FailoverWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverConfigTests",
            dependencies: ["FailoverConfig", "FailoverCore", "FailoverWire"],
            swiftSettings: strictSettings
        ),
    ]
)
