// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "speedo",
    products: [
        .executable(name: "speedo", targets: ["speedo"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Every message on stderr goes through it: text for people, JSON lines for collectors (--log-format).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // Already built for Hummingbird; the HTTP ingestion API runs on its HTTP/1.1 pipeline directly.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Already built for Hummingbird; the one shutdown model of speedo's HTTP servers (SpeedoHTTP).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Already built for the tests (HummingbirdTesting uses it); here it posts `simulate --via`'s readings.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The configuration file: YAML with the line of every key, so that a mistake is named where it is.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian, reached through pkg-config; the shims hold only what Swift cannot import.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Not through pkg-config: Debian's ncursesw.pc adds only -D flags, which SwiftPM refuses with a
        // warning; the shim defines what the wide-character API needs. scripts/install-deps.sh installs it.
        .systemLibrary(name: "CNCurses"),
        .systemLibrary(name: "CSpawn"),
        .systemLibrary(name: "CMalloc"),

        .target(name: "SpeedoCore", swiftSettings: strict),
        // Threads, child processes, signals, clocks and the exit codes: what every engine runs on, whatever it talks to.
        .target(
            name: "SpeedoRuntime",
            dependencies: ["CSpawn", "CMalloc", "SpeedoCore", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .target(
            name: "SpeedoKafka",
            dependencies: ["CRdKafka", "SpeedoCore", "SpeedoRuntime", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(name: "SpeedoStore", dependencies: ["CLibPQ", "SpeedoCore", "SpeedoRuntime"], swiftSettings: strict),
        .target(name: "SpeedoTUI", dependencies: ["CNCurses", "SpeedoCore"], swiftSettings: strict),
        .target(name: "SpeedoSimulator", dependencies: ["SpeedoCore"], swiftSettings: strict),
        // The configuration file and its profiles: where it is found, and its YAML read into settings.
        .target(
            name: "SpeedoConfigFile", dependencies: ["SpeedoCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        // What the three HTTP servers share, once: the answer type and its bodies, the bearer check, host policy,
        // connection limits, /healthz and /metrics, the raw NIO server of POST /speed, and the one shutdown model.
        // Nothing of Kafka or PostgreSQL.
        .target(
            name: "SpeedoHTTP",
            dependencies: [
                "SpeedoCore", "SpeedoRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The engines: ingest sessions, consume pumps, replay, the watch feed, the HTTP servers, the dev stack.
        // Commands call them; tests run them in process.
        .target(
            name: "SpeedoPipeline",
            dependencies: [
                "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoTUI", "SpeedoRuntime", "SpeedoSimulator", "SpeedoHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The gateway's live page, embedded in the binary (PackageResources.index_html, …).
            resources: [
                .embedInCode("Gateway/Page/index.html"), .embedInCode("Gateway/Page/speedo.js"),
                .embedInCode("Gateway/Page/speedo.css"),
            ],
            swiftSettings: strict
        ),
        // Commands only: parse, validate, call one engine, map its outcome to an exit code.
        .executableTarget(
            name: "speedo",
            dependencies: [
                "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoTUI", "SpeedoRuntime", "SpeedoSimulator",
                "SpeedoHTTP", "SpeedoPipeline", "SpeedoConfigFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        .systemLibrary(name: "CEpoll", path: "bench/Sources/CEpoll"),
        .executableTarget(
            name: "speedo-bench",
            dependencies: ["SpeedoCore", "SpeedoKafka", "CEpoll", "ChromiumDriver"],
            path: "bench/Sources/speedo-bench", swiftSettings: strict),

        // A headless Chromium driven over the DevTools protocol: the browser tests load the gateway's page in it, the
        // page's benchmark measures it there, and the README's screenshots are taken with it.
        .target(name: "ChromiumDriver", dependencies: ["SpeedoRuntime"], path: "Tests/ChromiumDriver", swiftSettings: strict),

        // What several test targets need: temporary files, waiting, records on the mock cluster, a private
        // PostgreSQL, a raw loopback socket, a WebSocket probe. Used by test targets only.
        .target(
            name: "SpeedoTestSupport",
            dependencies: [
                "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tests/SpeedoTestSupport", swiftSettings: strict),

        .testTarget(name: "SpeedoCoreTests", dependencies: ["SpeedoCore"], swiftSettings: strict),
        .testTarget(name: "SpeedoRuntimeTests", dependencies: ["SpeedoRuntime", "CMalloc"], swiftSettings: strict),
        .testTarget(
            name: "SpeedoKafkaTests", dependencies: ["SpeedoKafka", "SpeedoCore", "SpeedoRuntime", "SpeedoTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SpeedoStoreTests", dependencies: ["SpeedoStore", "SpeedoCore", "SpeedoRuntime", "SpeedoTestSupport"],
            swiftSettings: strict),
        // Snapshots/ holds the expected frames, read from the source tree by the tests (not bundled).
        .testTarget(
            name: "SpeedoTUITests", dependencies: ["SpeedoTUI", "SpeedoCore"], exclude: ["Snapshots"],
            swiftSettings: strict),
        .testTarget(name: "SpeedoConfigFileTests", dependencies: ["SpeedoConfigFile", "SpeedoCore"], swiftSettings: strict),
        .testTarget(name: "SpeedoSimulatorTests", dependencies: ["SpeedoSimulator", "SpeedoCore"], swiftSettings: strict),
        // The engines in process, against the mock cluster (and the project's PostgreSQL where they store history).
        .testTarget(
            name: "SpeedoPipelineTests",
            dependencies: [
                "SpeedoPipeline", "SpeedoHTTP", "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoRuntime",
                "SpeedoTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The binary: what is truly the CLI's contract (exit codes, messages, terminal, signals) and whole pipelines.
        .testTarget(
            name: "speedoTests",
            dependencies: [
                "speedo", "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoRuntime", "SpeedoPipeline",
                "SpeedoTestSupport", "ChromiumDriver",
            ],
            swiftSettings: strict
        ),
    ]
)
