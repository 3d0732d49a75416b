import Foundation
import SpeedoCore
import SpeedoKafka
package import SpeedoRuntime
import SpeedoStore

/// What `speedo dev up`, `down`, `status` and the hidden `serve-broker` do to the embedded stack; each returns the
/// lines the command prints.
extension DevStack {
    /// Starts what does not run, repairs what a crash or a reboot left behind, and migrates the schema.
    package func bringUp(notes: Notes) throws -> [String] {
        [try bringUpBroker(notes: notes), try bringUpPostgres(notes: notes)]
    }

    private func bringUpBroker(notes: Notes) throws -> String {
        switch brokerState() {
        case .running(let record):
            return "broker    running   \(record.bootstrapServers) (mock Kafka cluster, pid \(record.pid))"
        case .stale(let record):
            notes.note("speedo: the dev broker recorded as pid \(record.pid) is gone; starting a new one")
            fallthrough
        case .stopped:
            let previousAddress = rememberedBrokerPort().map(Self.brokerAddress(port:))
            let record = try startBroker()
            if let previousAddress, previousAddress != record.bootstrapServers {
                notes.note(
                    "speedo: the dev broker's address changed from \(previousAddress) to \(record.bootstrapServers): "
                        + "another process took the old port (see \(brokerLogPath)); give clients the new one "
                        + "(eval \"$(speedo dev env)\")")
            }
            return "broker    started   \(record.bootstrapServers) (mock Kafka cluster, pid \(record.pid), records kept in memory)"
        }
    }

    private func bringUpPostgres(notes: Notes) throws -> String {
        let postgres = try self.postgres()
        let before = postgres.status()
        if case .stopped(let stalePID?) = before {
            notes.note("speedo: the dev PostgreSQL recorded as pid \(stalePID) is gone; starting it again")
        }
        try postgres.start()
        let connection = try PostgresConnection.connect(postgres.connectionURL)
        let report = try SchemaMigrations.apply(on: connection)
        let schema = report.applied.isEmpty
            ? "schema v\(report.currentVersion)" : "schema migrated to v\(report.currentVersion)"
        let verb = if case .running = before { "running " } else { "started " }
        return "postgres  \(verb)  \(postgres.connectionURL) (\(schema))"
    }

    /// Stops the broker (its records are lost) and PostgreSQL (its data stays).
    package func bringDown() throws -> [String] {
        var lines: [String] = []
        switch brokerState() {
        case .running(let record):
            stopBroker(record)
            lines.append("broker    stopped   (pid \(record.pid))")
        case .stale:
            removeBrokerRecord()
            lines.append("broker    was not running (removed a stale record)")
        case .stopped:
            lines.append("broker    was not running")
        }
        let postgres = try self.postgres()
        if case .running = postgres.status() {
            try postgres.stop()
            lines.append("postgres  stopped   (data kept in \(postgres.directory))")
        } else {
            lines.append("postgres  was not running")
        }
        return lines
    }

    /// What of the stack runs; `allRunning` when the broker and PostgreSQL both do.
    package func statusLines() throws -> (lines: [String], allRunning: Bool) {
        var lines: [String] = []
        var allRunning = true
        switch brokerState() {
        case .running(let record):
            let answering = TCPProbe.accepts(record.bootstrapServers) ? "" : ", NOT accepting connections"
            lines.append("broker    running   \(record.bootstrapServers) (pid \(record.pid)\(answering))")
            if let mock = record.mockBootstrapServers {
                lines.append("          the same address after every restart; forwarded to the mock cluster at \(mock)")
            }
            lines.append("          in memory: keeps 5 MiB or 100,000 record batches per partition and drops the oldest "
                + "beyond that, as retention would: about 38,000 readings sent one per batch (10.5 hours of a sensor at 1 Hz "
                + "alone in its partition, as each of the demo's 20 is)")
        case .stale(let record):
            allRunning = false
            lines.append("broker    stopped   (stale record of pid \(record.pid); `speedo dev up` repairs it)")
        case .stopped:
            allRunning = false
            lines.append("broker    stopped")
        }
        let postgres = try self.postgres()
        switch postgres.status() {
        case .running(let pid):
            lines.append("postgres  running   \(postgres.connectionURL) (pid \(pid))")
        case .stopped(let stalePID?):
            allRunning = false
            lines.append("postgres  stopped   (stale record of pid \(stalePID); `speedo dev up` repairs it)")
        case .stopped(nil):
            allRunning = false
            lines.append("postgres  stopped")
        case .notInitialized:
            allRunning = false
            lines.append("postgres  not created yet")
        }
        lines.append("state     \(directory)")
        return (lines, allRunning)
    }

    /// Serves the mock cluster (its topics made here: it has no controller to answer CreateTopics) behind the stack's
    /// stable address until `stop` is requested.
    package func serveBroker(brokers: Int, partitions: Int32, stop: StopRequest, notes: Notes) throws {
        let cluster = try MockCluster(brokers: brokers)
        // The mock cluster has no controller to answer CreateTopics, so its topics are made here.
        let events = ConnectionSettings.defaultTopic
        try cluster.createTopic(name: events, partitions: partitions)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: partitions)
        try cluster.createTopic(name: ConnectionSettings.deadLetterTopic(for: events), partitions: 1)
        let listener = try bindBrokerListener(notes: notes)
        TCPForwarder(listener: listener, targetPort: try Self.firstPort(of: cluster.bootstrapServers)).start()
        let address = Self.brokerAddress(port: listener.port)
        try writeBrokerRecord(
            .init(pid: getpid(), bootstrapServers: address, startedAt: Date(), mockBootstrapServers: cluster.bootstrapServers))
        notes.note(
            "speedo dev broker: mock Kafka cluster listening on \(cluster.bootstrapServers), reached through \(address)")

        stop.wait()
        removeBrokerRecord()
        withExtendedLifetime(cluster) {}
    }

    private static func firstPort(of bootstrapServers: String) throws -> UInt16 {
        guard let first = bootstrapServers.split(separator: ",").first, let colon = first.lastIndex(of: ":"),
            let port = UInt16(first[first.index(after: colon)...])
        else { throw CommandFailure(.unavailable, "the mock cluster gave no port to forward to: \(bootstrapServers)") }
        return port
    }
}
