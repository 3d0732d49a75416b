import SpeedoCore
import SpeedoKafka
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `speedo-bench follow-latency`: follows speed-latest from its end as `watch` and the gateway do (`TopicFollower`), and
/// measures for each state the time from its reading's `ts` (event time) to its arrival here, after `--warmup`
/// seconds, for `--seconds`. What it reports is the pipeline's delay up to speed-latest: the simulator's or the
/// ingest's, the broker's, and consume latest's. With `--topic speed-events`, the delay up to the readings' topic: the
/// first hop alone.
struct FollowLatencyBenchmark {
    var brokers = ""
    var seconds = 30
    var warmup = 5
    var topic = ConnectionSettings.latestTopic

    static let usage =
        "usage: speedo-bench follow-latency --brokers HOST:PORT [--seconds S] [--warmup S] [--topic speed-latest|speed-events]"

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(arguments, known: ["brokers", "seconds", "warmup", "topic"], usage: Self.usage)
        brokers = try options.required("brokers")
        seconds = try options.number("seconds", default: seconds, minimum: 0)
        warmup = try options.number("warmup", default: warmup, minimum: 0)
        topic = options.text("topic") ?? topic
        guard [ConnectionSettings.latestTopic, ConnectionSettings.defaultTopic].contains(topic) else {
            throw BenchmarkUsageError(description: Self.usage)
        }
    }

    func run() throws(KafkaError) {
        let latencies = Mutex(LatencyHistogram())
        let started = monotonicSeconds()
        let warmup = Double(warmup)
        let follower = try TopicFollower(
            configuration: KafkaConfiguration(bootstrapServers: brokers), topic: topic,
            start: .since(Timestamp(microseconds: wallClockMicroseconds())), connectTimeout: .seconds(30),
            records: { records in
                let arrival = wallClockMicroseconds()
                guard monotonicSeconds() - started >= warmup else { return }
                let now = Timestamp(microseconds: arrival)
                latencies.withLock { histogram in
                    for record in records {
                        guard let value = record.value, let reading = Self.reading(in: value, now: now) else { continue }
                        histogram.add(arrival - reading.timestamp.microseconds)
                    }
                }
            },
            stateChanged: { state in
                if case .gaveUp(let error) = state { fputs("speedo-bench follow-latency: \(error)\n", stderr) }
            })
        sleep(UInt32(self.warmup + seconds))
        follower.stop()
        let histogram = latencies.withLock { $0 }
        print("""
            follow-latency: \(histogram.count) records in \(seconds) s; event time -> \(topic) (ms): \
            p50 \(histogram.percentile(0.5)) p90 \(histogram.percentile(0.9)) p99 \(histogram.percentile(0.99)) \
            max \(histogram.percentile(1))
            RESULT states=\(histogram.count) p50_ms=\(histogram.percentile(0.5)) p99_ms=\(histogram.percentile(0.99))
            """)
    }

    /// The reading a record of speed-latest (a state) or of speed-events (a reading) carries.
    private static func reading(in value: [UInt8], now: Timestamp) -> Reading? {
        if let state = try? LatestState.decode(value, now: now).get() { return state.reading }
        return try? ReadingDecoder.decode(value: value, now: now).get()
    }
}
