/// The kind of road a vehicle is on decides its speed limit, how far apart the stops are and how
/// long a stretch lasts.
package enum RoadKind: String, Sendable, CaseIterable {
    case urban
    case arterial
    case rural
    case motorway

    /// Posted limits, km/h; one is drawn per stretch.
    package var speedLimits: [Double] {
        switch self {
        case .urban: [50]
        case .arterial: [70]
        case .rural: [90, 100]
        case .motorway: [120, 130]
        }
    }

    /// Metres of one stretch of this kind before the road changes.
    var stretchLength: ClosedRange<Double> {
        switch self {
        case .urban: 600...2_500
        case .arterial: 1_500...5_000
        case .rural: 4_000...15_000
        case .motorway: 8_000...30_000
        }
    }

    /// Metres between traffic lights or stop signs; nil where there are none.
    var stopSpacing: ClosedRange<Double>? {
        switch self {
        case .urban: 200...700
        case .arterial: 600...2_000
        case .rural: 3_000...9_000
        case .motorway: nil
        }
    }

    /// Chance per second of driving that traffic ahead slows the vehicle down.
    var slowdownsPerSecond: Double {
        switch self {
        case .urban: 1.0 / 240
        case .arterial: 1.0 / 300
        case .rural: 1.0 / 900
        case .motorway: 1.0 / 600
        }
    }

    /// Kinds reachable from this one: a drive goes from town to arterial roads to the country and back.
    var neighbours: [RoadKind] {
        switch self {
        case .urban: [.urban, .arterial, .arterial]
        case .arterial: [.urban, .urban, .rural, .motorway]
        case .rural: [.arterial, .rural, .motorway]
        case .motorway: [.motorway, .rural, .arterial]
        }
    }
}

/// One stretch of road with a single speed limit.
package struct RoadStretch: Sendable, Equatable {
    package var kind: RoadKind
    /// km/h.
    package var speedLimit: Double
    /// Metres.
    package var length: Double

    static func random(_ kind: RoadKind, using random: inout some RandomNumberGenerator) -> RoadStretch {
        RoadStretch(kind: kind, speedLimit: random.pick(kind.speedLimits), length: random.uniform(kind.stretchLength))
    }
}
