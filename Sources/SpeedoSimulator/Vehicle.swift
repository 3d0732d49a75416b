import Glibc

/// What a car can do, m/s². Acceleration is what is available from standstill; it fades with speed,
/// as engine power does.
package struct DrivingLimits: Sendable, Equatable {
    package var acceleration: Double
    /// Ordinary braking: for traffic, a lower limit ahead, a stop the driver saw coming.
    package var braking: Double
    /// Braking for a stop that comes as a surprise; nothing decelerates harder.
    package var emergencyBraking: Double

    package static let car = DrivingLimits(acceleration: 2.5, braking: 4, emergencyBraking: 8)
}

/// One car and its driver, stepped on the simulation clock (never the wall clock).
///
/// The driver cruises near the posted limit with a personal bias and a slowly wandering attention
/// (an Ornstein–Uhlenbeck process), slows down in advance for a lower limit ahead and for traffic
/// lights and stop signs, waits there, and now and then meets slow traffic or has to stop hard.
/// Everything random comes from the vehicle's own seeded generator, so a vehicle's drive depends on
/// its seed only.
package struct Vehicle: Sendable {
    package let limits: DrivingLimits
    /// True speed, m/s.
    package private(set) var speed: Double
    package private(set) var road: RoadStretch
    /// Metres travelled on `road`.
    package private(set) var position: Double
    /// Multiplies the limit: some drivers keep below it, some above.
    package let bias: Double

    private var upcomingRoad: RoadStretch
    /// Metres to the next place the vehicle has to stop (red light, stop sign, emergency); nil: none on this road.
    private var distanceToStop: Double?
    /// Seconds the vehicle will stand at that stop.
    private var stopWait: Double
    /// Seconds left standing at the current stop; 0 when moving.
    private var waitRemaining = 0.0
    private var slowdown: (factor: Double, remaining: Double)?
    /// km/h the driver currently drifts from the intended speed.
    private var attentionDrift = 0.0
    /// The driver's own acceleration, relative to `limits.acceleration`.
    private let vigour: Double
    private var isBrakingForConstraint = false
    private var random: Xoshiro256StarStar

    /// Longest step of the integration: readings further apart are reached in several steps.
    static let maximumStep = 0.25
    static let driftTimeConstant = 20.0
    /// km/h, the spread of `attentionDrift`.
    static let driftSpread = 3.0
    /// Probability per second of driving at speed of an emergency stop.
    static let emergenciesPerSecond = 1.0 / 1_800

    package init(seed: UInt64, limits: DrivingLimits = .car) {
        var random = Xoshiro256StarStar(seed: seed)
        self.limits = limits
        bias = min(1.15, max(0.9, 1 + 0.05 * random.nextGaussian()))
        vigour = random.uniform(0.8...1.2)
        let road = RoadStretch.random(random.pick(RoadKind.allCases), using: &random)
        self.road = road
        upcomingRoad = RoadStretch.random(random.pick(road.kind.neighbours), using: &random)
        position = random.uniform(0...road.length * 0.9)
        speed = road.speedLimit / 3.6 * bias * random.uniform(0.3...1)
        stopWait = 0
        self.random = random
        distanceToStop = nil
        scheduleNextStop()
    }

    /// Drives on for `seconds` of simulated time.
    package mutating func advance(by seconds: Double) {
        guard seconds > 0 else { return }
        let steps = (seconds / Self.maximumStep).rounded(.up)
        let step = seconds / steps
        for _ in 0..<Int(steps) { advanceStep(step) }
    }

    /// What a roadside sensor reports: km/h with a little Gaussian noise, never below 0, exactly 0 for a
    /// car standing still, to 0.1 km/h.
    package mutating func measuredSpeed(noise: Double = 0.5) -> Double {
        guard speed > 0 else { return 0 }
        let error = noise * min(3, max(-3, random.nextGaussian()))
        return (max(0, speed * 3.6 + error) * 10).rounded() / 10
    }

    private mutating func advanceStep(_ step: Double) {
        if waitRemaining > 0 {
            waitRemaining -= step
            if waitRemaining <= 0 {
                waitRemaining = 0
                scheduleNextStop()
            }
            return
        }
        updateTraffic(step)
        let acceleration = min(cruisingAcceleration(step), constraintAcceleration())
        let newSpeed = max(0, speed + acceleration * step)
        let travelled = (speed + newSpeed) / 2 * step
        speed = newSpeed
        position += travelled
        if let distance = distanceToStop {
            let remaining = distance - travelled
            distanceToStop = remaining
            if (speed == 0 && remaining < 5) || (remaining <= 0 && speed <= limits.braking * step) {
                speed = 0
                waitRemaining = stopWait
                distanceToStop = nil
                isBrakingForConstraint = false
            } else if remaining <= 0 {
                scheduleNextStop()  // went through: the light turned green
            }
        }
        while position >= road.length { enterNextRoad() }
    }

    private mutating func updateTraffic(_ step: Double) {
        if var current = slowdown {
            current.remaining -= step
            slowdown = current.remaining > 0 ? current : nil
        } else if random.chance(road.kind.slowdownsPerSecond * step) {
            slowdown = (factor: random.uniform(0.25...0.7), remaining: random.uniform(20...150))
        }
        if speed > 10, random.chance(Self.emergenciesPerSecond * step) {
            let deceleration = random.uniform(limits.braking * 1.5...limits.emergencyBraking * 0.95)
            let distance = speed * speed / (2 * deceleration)
            if distanceToStop.map({ $0 > distance }) ?? true {
                distanceToStop = distance
                stopWait = random.uniform(2...6)
            }
        }
        let decay = step / Self.driftTimeConstant
        attentionDrift += -attentionDrift * decay + Self.driftSpread * (2 * decay).squareRoot() * random.nextGaussian()
    }

    /// m/s the driver wants on this road, in this traffic.
    private var intendedSpeed: Double {
        max(0, (road.speedLimit * bias + attentionDrift) * (slowdown?.factor ?? 1) / 3.6)
    }

    /// Closing the gap to the intended speed in about two seconds, within what the car and driver allow.
    private func cruisingAcceleration(_ step: Double) -> Double {
        let available = limits.acceleration * vigour * max(0.3, 1 - speed / 60)
        return min(available, max(-limits.braking, (intendedSpeed - speed) / 2))
    }

    /// Constant deceleration that reaches a stop or a lower limit exactly where it begins; the driver
    /// starts braking once that needs a firm (not a gentle) deceleration, and keeps at it.
    private mutating func constraintAcceleration() -> Double {
        var required = 0.0
        if let distance = distanceToStop {
            required = speed * speed / (2 * max(distance, 0.1))
        }
        let upcomingSpeed = upcomingRoad.speedLimit * bias / 3.6
        if speed > upcomingSpeed {
            let distance = max(road.length - position, 0.1)
            required = max(required, (speed * speed - upcomingSpeed * upcomingSpeed) / (2 * distance))
        }
        isBrakingForConstraint =
            required >= 0.6 * limits.braking || (isBrakingForConstraint && required > 0.05)
        guard isBrakingForConstraint else { return .infinity }
        return -min(required, limits.emergencyBraking)
    }

    private mutating func enterNextRoad() {
        position -= road.length
        road = upcomingRoad
        upcomingRoad = RoadStretch.random(random.pick(road.kind.neighbours), using: &random)
        if road.kind.stopSpacing == nil {
            // A stop the driver is already braking for (an emergency) stays; the next light does not exist here.
            if !isBrakingForConstraint { distanceToStop = nil }
        } else if distanceToStop == nil {
            scheduleNextStop()
        }
    }

    /// The next red light (long wait) or stop sign (short one); green lights need no stop and are not modelled.
    private mutating func scheduleNextStop() {
        guard let spacing = road.kind.stopSpacing else {
            distanceToStop = nil
            return
        }
        distanceToStop = random.uniform(spacing)
        stopWait = random.chance(0.6) ? random.uniform(5...45) : random.uniform(1...3)
    }
}
