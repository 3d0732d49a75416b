import SpeedoCore
import SpeedoKafka
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `speedo-bench follow-latency`: follows speed-latest from its end as `watch` and the gateway do (`TopicFollower`), and
/// measures for each state the time from its reading's `ts` (event time) to its arrival here, after `--warmup`
/// seconds, for `--seconds`. What it reports is the pipeline's delay up to speed-latest: the simulator's or the
/// ingest's, the broker's, and consume latest's.
struct FollowLatencyBenchmark {
    var brokers = ""
    var seconds = 30
    var warmup = 5

    static let usage = "usage: speedo-bench follow-latency --brokers HOST:PORT [--seconds S] [--warmup S]"

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(arguments, known: ["brokers", "seconds", "warmup"], usage: Self.usage)
        brokers = try options.required("brokers")
        seconds = try options.number("seconds", default: seconds, minimum: 0)
        warmup = try options.number("warmup", default: warmup, minimum: 0)
    }

    func run() throws(KafkaError) {
        let latencies = Mutex(LatencyHistogram())
        let started = monotonicSeconds()
        let warmup = Double(warmup)
        let follower = try TopicFollower(
            configuration: KafkaConfiguration(bootstrapServers: brokers), topic: ConnectionSettings.latestTopic,
            start: .since(Timestamp(microseconds: wallClockMicroseconds())), connectTimeout: .seconds(30),
            records: { records in
                let arrival = wallClockMicroseconds()
                guard monotonicSeconds() - started >= warmup else { return }
                let now = Timestamp(microseconds: arrival)
                latencies.withLock { histogram in
                    for record in records {
                        guard let value = record.value, let state = try? LatestState.decode(value, now: now).get() else { continue }
                        histogram.add(arrival - state.reading.timestamp.microseconds)
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
            follow-latency: \(histogram.count) states in \(seconds) s; event time -> speed-latest (ms): \
            p50 \(histogram.percentile(0.5)) p90 \(histogram.percentile(0.9)) p99 \(histogram.percentile(0.99)) \
            max \(histogram.percentile(1))
            RESULT states=\(histogram.count) p50_ms=\(histogram.percentile(0.5)) p99_ms=\(histogram.percentile(0.99))
            """)
    }
}
