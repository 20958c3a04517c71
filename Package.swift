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
        .executable(name: "failover-agent", targets: ["failover-agent"]),
        .executable(name: "failoverctl", targets: ["failoverctl"]),
        .executable(name: "failover-sim", targets: ["failover-sim"]),
        .executable(name: "failover-fuzz", targets: ["failover-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2", traits: []),
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
        // The one check of a node's configuration (failoverctl check, failover-agent check, the agent's start):
        // the TOML, the key as the agent reads it, the links against this host, the engine's configuration.
        .target(
            name: "NodeCheck",
            dependencies: ["FailoverConfig", "FailoverWire", "ProxyConfig"],
            swiftSettings: strictSettings
        ),
        // PURE: the proxy engine's configuration language (a documented subset of HAProxy's).
        .target(name: "ProxyConfig", swiftSettings: strictSettings),
        // The embedded proxy engine (its own process: `failover-agent proxy`).
        .target(
            name: "ProxyEngine",
            dependencies: [
                "CFailoverNet",
                "ProxyConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // PURE: the operator socket's requests and replies (JSON lines).
        .target(name: "ControlProtocol", swiftSettings: strictSettings),
        // libsystemd, found with pkg-config (Debian: libsystemd-dev).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // Small C helpers: gratuitous ARP / unsolicited NA frames, Unix socket peer credentials.
        .target(name: "CFailoverNet"),
        // sd_notify and the watchdog interval: the only place that talks to systemd.
        .target(name: "SystemdNotify", dependencies: ["CSystemd"], swiftSettings: strictSettings),
        // The I/O shell around the election: UDP links, the VIP driver and announcer, the control socket,
        // metrics, logging and systemd.
        .target(
            name: "FailoverAgent",
            dependencies: [
                "FailoverCore", "FailoverWire", "FailoverConfig", "ControlProtocol", "SystemdNotify", "CFailoverNet",
                "NodeCheck",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            // -enable-testing: FailoverAgentTests reach the I/O types (transfer server, fetcher, writer) in the
            // release build the test script uses.
            swiftSettings: strictSettings + [.unsafeFlags(["-enable-testing"])]
        ),
        .executableTarget(
            name: "failover-agent",
            dependencies: [
                "ControlProtocol", "FailoverAgent", "FailoverConfig", "FailoverWire", "ProxyConfig", "ProxyEngine",
                "SystemdNotify", "NodeCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "failoverctl",
            dependencies: [
                "ControlProtocol", "FailoverConfig", "FailoverWire", "NodeCheck", "ProxyConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
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
        // Fuzz targets (scripts/fuzz.sh builds them with libFuzzer; plain builds replay files).
        .executableTarget(
            name: "failover-fuzz",
            dependencies: [
                "FailoverWire", "FailoverConfig", "ProxyConfig", "ProxyEngine", "CFuzzing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "CFuzzing"),
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
        .testTarget(name: "ProxyConfigTests", dependencies: ["ProxyConfig"], swiftSettings: strictSettings),
        .testTarget(
            name: "ProxyEngineTests",
            dependencies: [
                "ProxyEngine", "ProxyConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverAgentTests",
            dependencies: [
                "FailoverAgent", "FailoverWire", "ControlProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FailoverConfigTests",
            dependencies: ["FailoverConfig", "FailoverCore", "FailoverWire"],
            swiftSettings: strictSettings
        ),
    ]
)
