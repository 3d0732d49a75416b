import SpeedoCore

/// A startup wait for the brokers that is still going: what `connect(within:retrying:)` tells its caller after each
/// failed attempt (to say so on stderr, and to give up on a signal).
package struct BrokerWaitNotice: Sendable, Hashable, CustomStringConvertible {
    package var brokers: String
    /// Attempts so far, each up to `KafkaHandle.connectAttemptTimeout`.
    package var attempts: Int
    /// Until the connect timeout runs out.
    package var remaining: Duration

    package var description: String {
        "\(shortDescription); retrying for up to \(remaining.components.seconds + 1) s more"
    }

    /// Without the time left, for a status that says "retrying" its own way (the dashboard, the gateway's notes).
    package var shortDescription: String {
        "no Kafka broker answers at \(brokers) yet (attempt \(attempts))"
    }
}

package enum BrokerWaitOutcome: Sendable, Hashable {
    case connected
    /// The caller gave up waiting (`retrying` answered false), before any broker answered.
    case stopped
}

extension KafkaHandle {
    /// One attempt of the startup wait; `waitForBrokers` retries with backoff within it.
    static let connectAttemptTimeout = Duration.seconds(2)

    /// The startup wait of every command, so that none races the startup of its cluster (the seed's
    /// NoBrokersAvailable) and all honour `--connect-timeout` alike: attempts of up to 2 s until a broker answers or
    /// `connectTimeout` has passed (0: a single attempt), with `retrying` told after each failed one; it answers
    /// whether to go on. Throws `.noBrokersAvailable`, naming the brokers and the flag that waits longer.
    func connect(
        within connectTimeout: Duration, retrying: (BrokerWaitNotice) -> Bool
    ) throws(KafkaError) -> BrokerWaitOutcome {
        let clock = ContinuousClock()
        let deadline = clock.now + connectTimeout
        var attempts = 0
        while true {
            guard let failure = probeBrokers(timeout: min(max(deadline - clock.now, .zero), Self.connectAttemptTimeout))
            else { return .connected }
            attempts += 1
            let remaining = deadline - clock.now
            guard remaining > .zero else {
                throw KafkaError(
                    code: .noBrokersAvailable,
                    message: "cannot reach Kafka at \(bootstrapServers): no broker answered within "
                        + "\(TimeSpan(connectTimeout)) (\(attempts) attempt\(attempts == 1 ? "" : "s"), last error: "
                        + "\(failure.lastError)); is the cluster running and reachable? (`speedo dev up` starts a "
                        + "local one; -b/--brokers or SPEEDO_BROKERS chooses another, --connect-timeout waits longer)",
                    isRetriable: true)
            }
            if !retrying(BrokerWaitNotice(brokers: bootstrapServers, attempts: attempts, remaining: remaining)) {
                return .stopped
            }
        }
    }
}

extension TimeSpan {
    /// To the microsecond, rounded down.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(microseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }
}
