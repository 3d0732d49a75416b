import SpeedoCore
import SpeedoKafka

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `speedo-bench latest-states`: produces speed-latest records, each stamped (`ts`) with the time it is handed to the
/// producer (`linger.ms` 0), on a fixed schedule (every sensor `--rate` times a second, spread evenly) for
/// `--seconds`. The gateway benchmark feeds speed-latest this way, so that a client's latency from `ts` to receipt is
/// the time from the record to the client, what the gateway is responsible for, without the upstream pipeline's
/// delays. (Not `kcat -P` reading lines: it takes up to 40 ms to pick a line up from its standard input.)
struct LatestStatesGenerator {
    var brokers = ""
    var sensors = 20
    var rate = 10
    var seconds = 60

    static let usage = "usage: speedo-bench latest-states --brokers HOST:PORT [--sensors N] [--rate HZ] [--seconds S]"

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(arguments, known: ["brokers", "sensors", "rate", "seconds"], usage: Self.usage)
        brokers = try options.required("brokers")
        sensors = try options.number("sensors", default: sensors)
        rate = try options.number("rate", default: rate)
        seconds = try options.number("seconds", default: seconds)
    }

    func run() throws(KafkaError) {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: brokers, properties: [("linger.ms", "0")]),
            deliveryHandler: { report in
                if let error = report.error { fputs("speedo-bench latest-states: \(error)\n", stderr) }
            })
        defer { _ = producer.close() }
        try producer.waitForBrokers(timeout: .seconds(30))
        let interval = 1_000_000_000 / Int64(sensors * rate)
        let start = monotonicNanoseconds()
        for step in 0..<Int64(sensors * rate * seconds) {
            sleep(until: start + step * interval)
            let sensor = "sensor-\(step % Int64(sensors))"
            let speed = Double(40 + step % 50) + 0.5
            let state = LatestState(
                reading: Reading(sensorID: sensor, speed: speed, timestamp: wallClock()), windowSeconds: 60,
                statistics: .init(count: 1, minimum: speed, average: speed, maximum: speed))
            try producer.send(
                topic: ConnectionSettings.latestTopic, key: Array(sensor.utf8), value: state.encoded(), tag: UInt64(step),
                whenQueueFull: .wait(until: nil))
        }
    }

    private func wallClock() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(microseconds: Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000)
    }

    private func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    private func sleep(until deadline: Int64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}
