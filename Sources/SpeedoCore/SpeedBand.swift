/// The speed bands that colour `watch`'s gauges and numbers and the gateway page's: one definition for both.
package enum SpeedBand: String, Sendable, CaseIterable {
    /// Town traffic, queues.
    case slow
    case cruising
    case fast

    /// Below this: `.slow`.
    package static let slowBelow = 30.0
    /// Below this: `.cruising`; from it on: `.fast`.
    package static let cruisingBelow = 90.0
    /// The gauges' full scale, unless a faster reading was seen (then that, rounded up to 10 km/h).
    package static let minimumFullScale = 160.0

    package init(speed: Double) {
        self = speed < Self.slowBelow ? .slow : speed < Self.cruisingBelow ? .cruising : .fast
    }

    package static func fullScale(fastest: Double) -> Double {
        max(minimumFullScale, (fastest / 10).rounded(.up) * 10)
    }
}
