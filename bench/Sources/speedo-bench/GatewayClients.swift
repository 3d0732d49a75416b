import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `speedo-bench gateway-clients`: many WebSocket clients of `speedo gateway`, each measuring, for every message,
/// the time from the state's `ts` (the reading's time, which is also the speed-latest record's Kafka timestamp) to
/// its receipt, by the wall clock of this machine.
struct GatewayClientsBenchmark {
    var url = "ws://127.0.0.1:9000/ws/speed"
    var clients = 1_000
    /// Messages in the first `warmUp` after every client connected are not measured (the snapshot, old states).
    var warmUp = Duration.seconds(3)
    var duration = Duration.seconds(20)

    static let usage = "usage: speedo-bench gateway-clients [--url ws://HOST:PORT/ws/speed] [--clients N] [--seconds S]"

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        var remaining = arguments
        while let name = remaining.popFirst() {
            guard let value = remaining.popFirst() else { throw BenchmarkUsageError(description: Self.usage) }
            switch name {
            case "--url": url = value
            case "--clients": clients = try Self.positive(value)
            case "--seconds": duration = .seconds(try Self.positive(value))
            default: throw BenchmarkUsageError(description: Self.usage)
            }
        }
    }

    private static func positive(_ text: String) throws(BenchmarkUsageError) -> Int {
        guard let value = Int(text), value > 0 else { throw BenchmarkUsageError(description: usage) }
        return value
    }

    func run() async {
        let recorder = LatencyRecorder()
        let logger = {
            var logger = Logger(label: "speedo-bench")
            logger.logLevel = .critical
            return logger
        }()
        let tasks = (0..<clients).map { _ in
            Task { [url] in
                _ = try? await WebSocketClient.connect(url: url, logger: logger) { inbound, _, _ in
                    recorder.countConnection()
                    var latencies: [Int64] = []
                    defer { recorder.add(latencies) }
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        guard case .text(let text) = message, recorder.isMeasuring,
                            let sent = Self.timestampMicroseconds(text)
                        else { continue }
                        latencies.append(wallClockMicroseconds() - sent)
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while recorder.connections < clients, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let connections = recorder.connections
        try? await Task.sleep(for: warmUp)
        recorder.start()
        try? await Task.sleep(for: duration)
        recorder.stop()
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        recorder.report(connections: connections, of: clients, seconds: Double(duration.components.seconds))
    }

    /// The `ts` member of a speed-latest value, in microseconds since the epoch.
    static func timestampMicroseconds(_ text: String) -> Int64? {
        guard let key = text.firstRange(of: #""ts":"#) else { return nil }
        let number = text[key.upperBound...].prefix { $0 != "," && $0 != "}" }
        return Double(number).map { Int64(($0 * 1_000_000).rounded()) }
    }
}

private func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
}

/// Every client's latencies, merged when the client ends.
private final class LatencyRecorder: Sendable {
    private let measuring = Atomic<Bool>(false)
    private let connected = Atomic<Int>(0)
    private let latencies = Mutex<[Int64]>([])

    func countConnection() { connected.add(1, ordering: .relaxed) }
    var connections: Int { connected.load(ordering: .relaxed) }

    var isMeasuring: Bool { measuring.load(ordering: .relaxed) }
    func start() { measuring.store(true, ordering: .relaxed) }
    func stop() { measuring.store(false, ordering: .relaxed) }

    func add(_ values: [Int64]) {
        latencies.withLock { $0.append(contentsOf: values) }
    }

    func report(connections: Int, of clients: Int, seconds: Double) {
        let sorted = latencies.withLock { $0 }.sorted()
        func percentile(_ fraction: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
            return String(format: "%.1f", Double(value) / 1000)
        }
        print("""
            gateway clients: \(connections) of \(clients) connected; \(sorted.count) messages measured in \(Int(seconds)) s \
            (\(Int(Double(sorted.count) / seconds)) messages/s)
            latency ts -> receipt (ms): p50 \(percentile(0.5)) p90 \(percentile(0.9)) p99 \(percentile(0.99)) \
            p99.9 \(percentile(0.999)) max \(sorted.last.map { String(format: "%.1f", Double($0) / 1000) } ?? "-")
            RESULT connections=\(connections) messages=\(sorted.count) p50_ms=\(percentile(0.5)) p99_ms=\(percentile(0.99))
            """)
    }
}
