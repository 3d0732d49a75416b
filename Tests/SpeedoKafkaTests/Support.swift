import Foundation
import Glibc
import SpeedoKafka
import Synchronization

/// Collects delivery reports from the producer's poll thread.
final class DeliveryLog: Sendable {
    private let reports = Mutex<[DeliveryReport]>([])

    var handler: @Sendable (DeliveryReport) -> Void {
        { report in self.reports.withLock { $0.append(report) } }
    }

    var all: [DeliveryReport] { reports.withLock { $0 } }

    /// Waits (briefly sleeping) until at least `count` reports arrived or `timeout` passed.
    func wait(for count: Int, timeout: Duration = .seconds(10)) -> [DeliveryReport] {
        let deadline = ContinuousClock.now + timeout
        while all.count < count && ContinuousClock.now < deadline { usleep(20_000) }
        return all
    }
}

func configuration(_ cluster: MockCluster, _ properties: [(String, String)] = []) -> KafkaConfiguration {
    KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: properties)
}

func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

/// Polls until `stop` says so or the deadline passes; returns every event seen.
func drain(
    _ consumer: KafkaConsumer,
    timeout: Duration = .seconds(10),
    until stop: ([ConsumerEvent]) -> Bool
) -> [ConsumerEvent] {
    let deadline = ContinuousClock.now + timeout
    var events: [ConsumerEvent] = []
    while ContinuousClock.now < deadline && !stop(events) {
        if let event = consumer.poll(timeout: .milliseconds(100)) { events.append(event) }
    }
    return events
}

extension [ConsumerEvent] {
    var records: [ConsumedRecord] {
        compactMap { if case .record(let record) = $0 { record } else { nil } }
    }

    var endsOfPartition: [TopicPartitionOffset] {
        compactMap {
            if case .endOfPartition(let topic, let partition, let offset) = $0 {
                TopicPartitionOffset(topic: topic, partition: partition, offset: offset)
            } else { nil }
        }
    }
}

/// Runs an async test body on a thread of its own (`withTaskExecutorPreference`), so that its timing does not
/// depend on the shared concurrency pool, which other tests of the process may keep busy with blocking calls.
func onOwnThread<T>(_ body: () async throws -> T) async throws -> T {
    let executor = DedicatedThreadExecutor()
    defer { executor.stop() }
    return try await withTaskExecutorPreference(executor, operation: body)
}

final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `isStopping` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isStopping = false

    init() {
        let thread = Thread { [self] in
            while let job = next() { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
        thread.name = "test-executor"
        thread.start()
    }

    private func next() -> UnownedJob? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !isStopping { condition.wait() }
        return jobs.isEmpty ? nil : jobs.removeFirst()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    /// The thread ends once no job is left.
    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }
}
