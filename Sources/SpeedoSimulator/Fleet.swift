package import SpeedoCore

/// The simulated sensors: one vehicle per sensor id, each with its own seed derived from the run's seed.
///
/// Readings are numbered in emission order: reading `n` is sensor `n % sensors`'s measurement number
/// `n / sensors`. A vehicle drives `1 / ratePerSensor` seconds of simulated time between two of its
/// readings, so the output depends on the seed, the sensor count and the rate, never on how fast the
/// readings are consumed.
package struct Fleet: Sendable {
    package let sensorIDs: [String]
    package let ratePerSensor: Double
    private var vehicles: [Vehicle]
    private var nextIndex: Int64 = 0

    /// - Throws: the rejection of the last sensor id when `prefix` does not make valid ids.
    package init(sensors: Int, prefix: String, seed: UInt64, ratePerSensor: Double) throws(Rejection) {
        precondition(sensors >= 1, "a fleet has at least one sensor")
        precondition(ratePerSensor > 0 && ratePerSensor.isFinite, "the rate must be positive")
        let ids = try Self.sensorIDs(sensors: sensors, prefix: prefix)
        var seeds = SplitMix64(seed: seed)
        sensorIDs = ids
        self.ratePerSensor = ratePerSensor
        vehicles = ids.map { _ in Vehicle(seed: seeds.next()) }
    }

    /// `<prefix>0` … `<prefix>N-1`, checked against the event contract.
    package static func sensorIDs(sensors: Int, prefix: String) throws(Rejection) -> [String] {
        let ids = (0..<sensors).map { "\(prefix)\($0)" }
        // The first and the last id are the shortest and the longest; the characters are the same in all.
        for id in Set([ids[0], ids[sensors - 1]]) {
            _ = try Reading.validated(sensorID: id, speed: 0, timestamp: probeTime, now: probeTime)
        }
        return ids
    }

    /// Any valid time: only the id is being checked.
    private static let probeTime = Timestamp(microseconds: 1_700_000_000_000_000)

    /// Readings number `indices`, which must continue where the previous call ended, stamped by `time`.
    package mutating func readings(
        _ indices: Range<Int64>, into batch: inout [Reading], time: (Int64) -> Timestamp
    ) {
        precondition(indices.lowerBound == nextIndex, "readings are produced in order")
        let count = Int64(vehicles.count)
        let interval = 1 / ratePerSensor
        for index in indices {
            let sensor = Int(index % count)
            if index >= count { vehicles[sensor].advance(by: interval) }
            let speed = vehicles[sensor].measuredSpeed()
            batch.append(Reading(sensorID: sensorIDs[sensor], speed: speed, timestamp: time(index)))
        }
        nextIndex = indices.upperBound
    }
}
