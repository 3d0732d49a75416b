import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
import Testing

/// One test's real dependencies: librdkafka's mock cluster in this process (reached by the `speedo` binary over
/// TCP) and a private PostgreSQL, both gone when the value is.
final class HistoryStack: Sendable {
    let cluster: MockCluster
    private let privatePostgres: PrivatePostgres
    let topic: String
    /// An empty XDG state directory, so that the binary never finds a developer's running dev stack.
    private let stateDirectory: TemporaryDirectory

    /// `brokers` mock brokers; the readings topic is replicated to all of them, its partition leaders spread over them.
    init(partitions: Int32 = 6, brokers: Int = 1) async throws {
        cluster = try MockCluster(brokers: brokers)
        topic = "speed-events"
        try cluster.createTopic(name: topic, partitions: partitions, replicationFactor: Int32(brokers))
        try cluster.createTopic(name: ConnectionSettings.deadLetterTopic(for: topic), partitions: 1)
        stateDirectory = try TemporaryDirectory(prefix: "speedo-history-state")
        // Commits stay synchronous: tests stop this server immediately (as a crash would) and count what survived.
        privatePostgres = try await PrivatePostgres.start(
            prefix: "speedo-history", settings: ["fsync": "off", "full_page_writes": "off"])
        // Migrated here already, so that the test can count rows before the first writer has started.
        try await withConnection(privatePostgres.url) { try SchemaMigrations.apply(on: $0) }
    }

    var postgres: LocalPostgres { privatePostgres.server }
    var databaseURL: String { privatePostgres.url }

    var speedo: SpeedoBinary {
        SpeedoBinary(environment: [
            "XDG_STATE_HOME": stateDirectory.path, "SPEEDO_BROKERS": nil, "SPEEDO_DATABASE_URL": nil,
            "DATABASE_URL": nil, "SPEEDO_TOPIC": nil,
        ])
    }

    /// `consume postgres` arguments against this stack; short Kafka session timeouts so that the mock cluster hands
    /// a dead member's partitions over within seconds.
    func consumeArguments(_ extra: [String] = []) -> [String] {
        ["consume", "postgres", "-b", cluster.bootstrapServers, "-d", databaseURL, "-t", topic,
         "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300", "--log-interval", "1s"] + extra
    }

    /// Produces `readings` keyed by sensor, acknowledged by the broker before returning; with `duration`, in 50 ms
    /// steps spread over that time, like a live stream. Blocks.
    func produce(_ readings: [Reading], over duration: Duration = .zero) throws {
        try produceRecords(readings.map(TestRecord.init), to: topic, on: cluster, over: duration)
    }

    /// Runs SQL on a dedicated thread and returns the rows.
    func query(_ sql: String) async throws -> PostgresRows {
        try await withConnection(databaseURL) { try $0.query(sql) }
    }

    /// Count, distinct keys and sum of speeds of what speed_readings holds.
    func stored() async throws -> StoredSummary {
        let row = try #require(try await query("""
            SELECT count(*) AS rows, count(DISTINCT (sensor_id, ts)) AS keys, coalesce(sum(speed), 0) AS total
            FROM speed_readings
            """).first)
        return StoredSummary(
            rows: try #require(try row.int("rows")), keys: try #require(try row.int("keys")),
            speedSum: try #require(try row.double("total")))
    }

    /// Each rollup against the rows (`RollupComparison`).
    func rollups() async throws -> [RollupComparison] {
        try await withConnection(databaseURL) { try RollupComparison.all(on: $0) }
    }

    /// The next offsets speedo_consumer_offsets holds for `group`, by partition.
    func storedOffsets(group: String = "speedo-history") async throws -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for row in try await query(
            "SELECT partition, next_offset FROM speedo_consumer_offsets WHERE group_id = '\(group)'")
        {
            offsets[Int32(try #require(try row.int("partition")))] = Int64(try #require(try row.int("next_offset")))
        }
        return offsets
    }

    /// The high watermark of every partition that ever held a record (a writer stores no offset for the others).
    func highWatermarks() throws -> [Int32: Int64] {
        try watermarks().mapValues(\.high).filter { $0.value > 0 }
    }

    /// The first offset each partition still holds (the mock broker drops the oldest records beyond ~5 MB).
    func lowWatermarks() throws -> [Int32: Int64] {
        try watermarks().mapValues(\.low)
    }

    private func watermarks() throws -> [Int32: Watermarks] {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        return try admin.watermarks(topic: topic)
    }
}

struct StoredSummary: Equatable {
    var rows: Int
    var keys: Int
    var speedSum: Double
}

/// Readings with distinct (sensor, ts) keys and whole-number speeds (so that sums are exact), spread over
/// `sensors` sensors, three a second, ending an hour ago (a reading from the future would be rejected).
func makeReadings(count: Int, sensors: Int = 60, seed: UInt64 = 7) -> [Reading] {
    let start = Int64(Date().timeIntervalSince1970) - 3_600 - Int64(count / 3 + 1)
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { index in
        Reading(
            sensorID: "sensor-\(index % sensors)",
            speed: Double(generator.next() % 1001),
            timestamp: Timestamp(microseconds: (start + Int64(index) / 3) * 1_000_000 + Int64(index % 3) * 250_000))
    }
}

func speedSum(_ readings: [Reading]) -> Double { readings.reduce(0) { $0 + $1.speed } }

/// A `speedo` process running in the background, for tests that kill or outlive it.
final class BackgroundSpeedo {
    let process = Process()
    private let errors: TemporaryFile

    /// `standardOutput`: a file to write stdout into (discarded without it).
    init(_ speedo: SpeedoBinary, _ arguments: [String], standardOutput: String? = nil) throws {
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in speedo.environment { environment[name] = value }
        errors = try TemporaryFile()
        process.executableURL = URL(fileURLWithPath: SpeedoBinary.path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = try standardOutput.map { try FileHandle(forWritingTo: URL(fileURLWithPath: $0)) }
            ?? FileHandle.nullDevice
        process.standardError = errors.handle
        process.standardInput = FileHandle.nullDevice
        try process.runTakingTurns()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var stderr: String { errors.contents() }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the exit; nil when it did not come in time (the process is then killed).
    func wait(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill9()
            return nil
        }
        return process.terminationStatus
    }
}

/// GET (or what `options` ask for) with curl, the independent client: the status code and the body.
func curl(_ url: String, _ options: [String] = []) async throws -> (status: String, body: String) {
    let result = try await runProgram(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"] + options + [url])
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
}

extension BackgroundSpeedo {
    /// Where `consume postgres|latest --metrics-listen …:0` serves, as it says on stderr.
    func metricsAddress(of command: String = "consume postgres") async throws -> String {
        var address = ""
        try await waitUntil(timeout: .seconds(30), "the metrics address") {
            let prefix = "speedo: \(command): metrics at http://"
            guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return false }
            address = String(line.dropFirst(prefix.count).prefix { $0 != "/" })
            return true
        }
        return address
    }
}

/// A sample's value in a Prometheus exposition (counters print as integers, gauges as decimals).
func metricValue(_ sample: String, in metrics: String) -> Double? {
    metrics.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.dropFirst(sample.count + 1)) }
}
