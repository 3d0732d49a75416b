package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// How readings reach Kafka, for every command that publishes them (`ingest`, `simulate`, `replay --to topic:`).
package struct PublishingSettings: Sendable {
    /// Partitions of the topic when it has to be created.
    package var partitions: Int32
    /// How long to keep retrying when no broker answers at startup (`--connect-timeout`).
    package var connectTimeout: Duration

    package init(partitions: Int32, connectTimeout: Duration) {
        (self.partitions, self.connectTimeout) = (partitions, connectTimeout)
    }
}

extension ReadingPublisher {
    /// Queues `reading` with backpressure: while the producer's queue is full it waits, in slices, calling
    /// `keepWaiting` between them (to redraw progress, to notice a signal); nothing is dropped. Returns false
    /// when `keepWaiting` gave up, with the reading not queued.
    package func publish(
        _ reading: Reading, tag: UInt64, waitingInSlicesOf slice: Duration,
        keepWaiting: () -> Bool
    ) throws(KafkaError) -> Bool {
        var policy = QueueFullPolicy.fail
        while true {
            do {
                try publish(reading, tag: tag, whenQueueFull: policy)
                return true
            } catch where error.isQueueFull {
                guard keepWaiting() else { return false }
                policy = .wait(until: .now + slice)
            }
        }
    }

    /// A publisher whose broker answered and whose topic exists. Waits for a broker with notes on stderr, so that
    /// a command started together with its cluster does not fail (the seed's NoBrokersAvailable). `defaults` are
    /// producer properties of the command's own for the live path, which the operator's -X still override; what is
    /// in effect is noted at debug level (`--log-level debug`), read back from librdkafka. Without `stop`
    /// (a server, which handles signals only once it serves), a signal while waiting ends the process.
    package static func connected(
        settings: ConnectionSettings, options: PublishingSettings, command: String, stop: StopRequest?, notes: Notes,
        defaults: [(String, String)] = [], streamingReports: StreamingReports = .failuresOnly,
        deliveryHandler: @escaping @Sendable (DeliveryReport) -> Void = { _ in }
    ) throws -> ReadingPublisher {
        var configuration = KafkaConfiguration(settings)
        configuration.properties = defaults + configuration.properties
        let publisher = try ReadingPublisher(
            configuration: configuration, topic: settings.topic.value, streamingReports: streamingReports,
            deliveryHandler: deliveryHandler)
        for (key, _) in defaults {
            let value = publisher.effectiveProperty(key) ?? "?"
            notes.note("speedo \(command): live path: \(key)=\(value) publishing", level: .debug, fields: [key: value])
        }
        let connection = try publisher.connect(within: options.connectTimeout) { notice in
            notes.note("speedo \(command): \(notice)")
            return stop?.isRequested != true
        }
        guard connection == .connected else {
            throw CommandFailure(.interrupted, "interrupted while waiting for Kafka at \(settings.brokers.value)")
        }
        if try publisher.ensureTopic(partitions: options.partitions) == .leftToAutoCreation {
            notes.note(
                "speedo \(command): this cluster cannot create topics on request (librdkafka's mock cluster); "
                    + "\(publisher.topic) is created on first use with the cluster's default partition count")
        }
        return publisher
    }
}
