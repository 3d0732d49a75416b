package import SpeedoKafka
package import SpeedoRuntime

/// What every `speedo consume` command tells its pump the same way: the topic and cluster it reads, when it stops, and
/// where it says what is not data.
package struct ConsumeSettings {
    /// The group of `consume postgres` unless --group names another: the one whose offsets say how far the history
    /// is written.
    package static let historyGroup = "speedo-history"

    package var kafka: KafkaConfiguration
    package var topic: String
    /// `--exit-at-end`: stop once every partition read was read to its end (and what was read is done with).
    package var exitAtEnd: Bool
    /// How long to keep trying when no broker answers at startup (`--connect-timeout`).
    package var connectTimeout: Duration
    /// SIGINT/SIGTERM ask for a clean stop.
    package var stop: StopRequest
    /// Where the pump says what is not data (progress, problems, the summary).
    package var notes: Notes
    /// Beaten by the loop's every turn and every wait, for `/livez`.
    package let heartbeat = Heartbeat()

    package init(
        kafka: KafkaConfiguration, topic: String, exitAtEnd: Bool, connectTimeout: Duration, stop: StopRequest,
        notes: Notes
    ) {
        (self.kafka, self.topic, self.exitAtEnd) = (kafka, topic, exitAtEnd)
        (self.connectTimeout, self.stop, self.notes) = (connectTimeout, stop, notes)
    }

    /// The loop that reads `topic` for `command` (`consume postgres`, …), saying on `notes` what it says: the startup
    /// wait in the words every command uses for it, broker trouble once per distinct problem.
    func loop(command: String, membership: ConsumerMembership) throws(KafkaError) -> ConsumerLoop {
        let notes = notes
        return try ConsumerLoop(
            configuration: kafka, topic: topic, membership: membership, connectTimeout: connectTimeout,
            heartbeat: heartbeat
        ) { notice in
            switch notice {
            case .waitingForBrokers: notes.note("speedo \(command): \(notice)")
            case .brokerTrouble: notes.note("speedo: \(notice)")
            }
        }
    }
}
