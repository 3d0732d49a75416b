import SpeedoCore
import SpeedoSimulator
import Testing

@Suite struct VehicleTests {
    @Test func theSameSeedGivesTheSameReadings() throws {
        func readings(seed: UInt64, sensors: Int = 4) throws -> [Reading] {
            var fleet = try Fleet(sensors: sensors, prefix: "car-", seed: seed, ratePerSensor: 2)
            var batch: [Reading] = []
            fleet.readings(0..<Int64(sensors * 500), into: &batch) { testNow + TimeSpan(microseconds: $0 * 125_000) }
            return batch
        }
        let first = try readings(seed: 42)
        #expect(first == (try readings(seed: 42)))
        #expect(first.map(\.speed) != (try readings(seed: 43)).map(\.speed))
        #expect(Set(first.map(\.sensorID)) == ["car-0", "car-1", "car-2", "car-3"])
        // A sensor's drive depends on the seed and its number, not on how many others there are.
        let wider = try readings(seed: 42, sensors: 8)
        #expect(first.filter { $0.sensorID == "car-1" }.map(\.speed).prefix(250)
            == wider.filter { $0.sensorID == "car-1" }.map(\.speed).prefix(250))
    }

    @Test func speedsStayWithinWhatACarCanDo() {
        let limits = DrivingLimits.car
        let interval = 0.1
        for seed in UInt64(1)...6 {
            let samples = drive(seed: seed, interval: interval, seconds: 3_600)
            // Worst cases first, one expectation each: millions of expectations would dominate the test's time.
            var hardestAcceleration = 0.0, hardestBraking = 0.0, largestMeasuredChange = 0.0
            for (previous, current) in zip(samples, samples.dropFirst()) {
                let change = (current.speed - previous.speed) / interval
                hardestAcceleration = max(hardestAcceleration, change)
                hardestBraking = max(hardestBraking, -change)
                largestMeasuredChange = max(largestMeasuredChange, abs(current.measured - previous.measured))
            }
            #expect(hardestAcceleration <= limits.acceleration * 1.2 + 1e-9, "seed \(seed)")
            #expect(hardestBraking <= limits.emergencyBraking + 1e-9, "seed \(seed)")
            #expect(hardestBraking > limits.braking, "seed \(seed): never braked hard in an hour")
            // Noise is at most 3 × 0.5 km/h either way, rounding 0.05.
            #expect(largestMeasuredChange <= limits.emergencyBraking * 3.6 * interval + 3.1 + 1e-9, "seed \(seed)")
            let measured = samples.map(\.measured)
            #expect(measured.allSatisfy { (0...1_000).contains($0) })
            #expect(measured.allSatisfy { $0 == ($0 * 10).rounded() / 10 }, "not rounded to 0.1 km/h")
        }
    }

    @Test func vehiclesStopAndReachTheLimit() {
        var stops = 0
        var atTheLimit = 0
        var moving = 0
        for seed in UInt64(10)...15 {
            var wasStopped = false
            for sample in drive(seed: seed, interval: 1, seconds: 7_200) {
                let isStopped = sample.measured == 0
                if isStopped, !wasStopped { stops += 1 }
                wasStopped = isStopped
                if sample.speed > 0 { moving += 1 }
                if sample.speed * 3.6 >= sample.road.speedLimit * 0.95 { atTheLimit += 1 }
            }
        }
        #expect(stops >= 20, "six cars over two hours stopped only \(stops) times")
        #expect(Double(atTheLimit) / Double(moving) > 0.2, "only \(atTheLimit) of \(moving) moving seconds near the limit")
    }

    @Test func meanSpeedPerRoadKindIsPlausible() {
        var sums: [RoadKind: (total: Double, count: Int)] = [:]
        for seed in UInt64(100)...115 {
            for sample in drive(seed: seed, interval: 1, seconds: 7_200) {
                sums[sample.road.kind, default: (0, 0)].total += sample.measured
                sums[sample.road.kind, default: (0, 0)].count += 1
            }
        }
        let plausible: [RoadKind: ClosedRange<Double>] = [
            .urban: 20...50, .arterial: 35...72, .rural: 60...102, .motorway: 90...135,
        ]
        for kind in RoadKind.allCases {
            let (total, count) = sums[kind] ?? (0, 0)
            #expect(count > 1_000, "\(kind): only \(count) samples")
            let mean = total / Double(max(count, 1))
            #expect(plausible[kind]!.contains(mean), "\(kind): mean \(mean) km/h")
        }
    }

    @Test func everyReadingIsValid() throws {
        var fleet = try Fleet(sensors: 50, prefix: "sensor-", seed: 9, ratePerSensor: 1)
        var batch: [Reading] = []
        fleet.readings(0..<50 * 600, into: &batch) { testNow - TimeSpan.seconds(600) + TimeSpan(microseconds: $0 * 20_000) }
        let validated = try batch.map { reading in
            try Reading.validated(
                sensorID: reading.sensorID, speed: reading.speed, timestamp: reading.timestamp, now: testNow)
        }
        #expect(validated == batch)
    }

    @Test func aPrefixThatMakesInvalidIdsIsRejected() {
        #expect(throws: Rejection.self) { try Fleet(sensors: 2, prefix: "car #", seed: 1, ratePerSensor: 1) }
        #expect(throws: Rejection.self) {
            try Fleet(sensors: 10, prefix: String(repeating: "x", count: 64), seed: 1, ratePerSensor: 1)
        }
    }

    @Test func seededGeneratorsAreReproducibleAndSpread() {
        var first = Xoshiro256StarStar(seed: 0)
        var second = Xoshiro256StarStar(seed: 0)
        let values = (0..<1_000).map { _ in first.next() }
        #expect(values == (0..<1_000).map { _ in second.next() })
        #expect(Set(values).count == 1_000)
        // Each bit is set about half of the time.
        for bit in 0..<64 {
            let ones = values.count { $0 >> UInt64(bit) & 1 == 1 }
            #expect((400...600).contains(ones), "bit \(bit) set \(ones) times in 1000")
        }
    }
}
