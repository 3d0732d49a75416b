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
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // C libraries from Debian, reached through pkg-config; the shims hold only what Swift cannot import.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Not through pkg-config: Debian's ncursesw.pc adds only -D flags, which SwiftPM refuses with a
        // warning; the shim defines what the wide-character API needs. scripts/install-deps.sh installs it.
        .systemLibrary(name: "CNCurses"),
        .systemLibrary(name: "CSpawn"),

        .target(name: "SpeedoCore", swiftSettings: strict),
        .target(name: "SpeedoKafka", dependencies: ["CRdKafka", "SpeedoCore"], swiftSettings: strict),
        .target(name: "SpeedoProcess", dependencies: ["CSpawn"], swiftSettings: strict),
        .target(name: "SpeedoStore", dependencies: ["CLibPQ", "SpeedoCore", "SpeedoProcess"], swiftSettings: strict),
        .target(name: "SpeedoTUI", dependencies: ["CNCurses", "SpeedoCore"], swiftSettings: strict),
        .executableTarget(
            name: "speedo",
            dependencies: [
                "SpeedoCore", "SpeedoKafka", "SpeedoStore", "SpeedoTUI", "SpeedoProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        .executableTarget(
            name: "speedo-bench", dependencies: ["SpeedoCore"], path: "bench/Sources/speedo-bench", swiftSettings: strict),

        .testTarget(name: "SpeedoCoreTests", dependencies: ["SpeedoCore"], swiftSettings: strict),
        .testTarget(name: "SpeedoKafkaTests", dependencies: ["SpeedoKafka"], swiftSettings: strict),
        .testTarget(name: "SpeedoStoreTests", dependencies: ["SpeedoStore"], swiftSettings: strict),
        .testTarget(name: "SpeedoTUITests", dependencies: ["SpeedoTUI"], swiftSettings: strict),
        .testTarget(name: "speedoTests", dependencies: ["SpeedoCore", "SpeedoKafka", "SpeedoStore"], swiftSettings: strict),
    ]
)
