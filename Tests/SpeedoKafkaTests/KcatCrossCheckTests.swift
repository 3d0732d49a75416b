import Foundation
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// Runs kcat with `input` on stdin and returns its stdout; kills it if it outlives `timeout`.
private func kcat(_ arguments: [String], input: String = "", timeout: TimeInterval = 10) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.runTakingTurns()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let deadline = Date(timeIntervalSinceNow: timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        Issue.record("kcat \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    return String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
}

@Suite("Cross-check with kcat")
struct KcatCrossCheckTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat")))
    func kcatReadsWhatWeProduce() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("to-kcat")
        try cluster.createTopic(name: topic, partitions: 1)
        let producer = try KafkaProducer(configuration: configuration(cluster)) { _ in }
        let records = (0..<20).map { index in
            (key: "sensor-\(index % 3)", value: "{\"speed\":\(index * 3)}", timestampMs: 1_700_000_000_000 + Int64(index) * 250)
        }
        for (index, record) in records.enumerated() {
            try producer.send(topic: topic, key: Array(record.key.utf8), value: Array(record.value.utf8),
                              timestampMs: record.timestampMs, tag: UInt64(index))
        }
        #expect(producer.close() == 0)

        let output = try kcat(["-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k|%s|%T\n"])
        #expect(output == records.map { "\($0.key)|\($0.value)|\($0.timestampMs)\n" }.joined())
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/kcat")))
    func weReadWhatKcatProduces() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("from-kcat")
        try cluster.createTopic(name: topic, partitions: 1)
        let lines = (0..<15).map { "sensor-\($0 % 4):{\"speed\":\($0)}" }
        _ = try kcat(["-P", "-b", cluster.bootstrapServers, "-t", topic, "-K:"], input: lines.joined(separator: "\n") + "\n")

        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: 0)])
        let events = drain(consumer) { !$0.endsOfPartition.isEmpty }
        consumer.close()
        let read = events.records.map { record in
            String(decoding: record.key ?? [], as: UTF8.self) + ":" + String(decoding: record.value ?? [], as: UTF8.self)
        }
        #expect(read == lines)
        #expect(events.records.map(\.offset) == Array(0..<15))
    }
}
