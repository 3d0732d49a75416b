import Foundation
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// `--log-format json` and `--log-level` through the real binary, the JSON read back by jq: one object a line with the
/// timestamp, level, command, message and the message's fields; nothing else on stderr.
@Suite(.programTurns) struct LogFormatTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
        "SPEEDO_CONFIG": nil, "SPEEDO_LOG_FORMAT": nil, "SPEEDO_LOG_LEVEL": nil,
    ])

    /// Each stderr line as jq reads it (`fields` joined by tabs); fails the test when jq refuses any line.
    private func parsed(_ stderr: String, _ fields: String) async throws -> [[String]] {
        let read = try await runProgram(["jq", "-r", "[\(fields)] | map(tostring) | @tsv"], input: stderr)
        #expect(read.status == 0, "jq could not read every line: \(read.stderr)\n\(stderr)")
        return read.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func jsonLinesCarryLevelCommandMessageAndCounts() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "logged", partitions: 1)
        let input = #"{"sensor_id":"s-1","speed":1,"ts":1700000000}"# + "\n" + #"{"sensor_id":"s-1","speed":"fast"}"# + "\n"
            + #"{"sensor_id":"s-2","speed":2,"ts":1700000001}"# + "\n"
        let outcome = try await speedo.run(
            ["--log-format", "json", "ingest", "-b", cluster.bootstrapServers, "-t", "logged"], input: input)
        #expect(outcome.status == 65, "\(outcome.stderr)")
        let lines = try await parsed(outcome.stderr, ".level, .command, (.timestamp | test(\"^20[0-9-]+T[0-9:.]+Z$\")), .message")
        #expect(lines.count == outcome.stderr.split(separator: "\n").count)
        #expect(lines.allSatisfy { $0.count == 4 && $0[1] == "ingest" && $0[2] == "true" }, "\(lines)")
        #expect(lines.contains { $0[0] == "warning" && $0[3].hasPrefix("<stdin>:2: speed: ") }, "\(lines)")
        #expect(lines.last?[0] == "error", "\(lines)")
        let rejection = try await parsed(outcome.stderr, "select(.line != null) | .input, .line")
        #expect(rejection == [["<stdin>", "2"]], "\(outcome.stderr)")
        let summary = try await parsed(outcome.stderr, "select(.lines != null) | .lines, .published, .rejected, .undelivered, .topic, .level")
        #expect(summary == [["3", "2", "1", "0", "logged", "info"]], "\(outcome.stderr)")
        let numbers = try await runProgram(["jq", "-r", "select(.lines != null) | .lines | type"], input: outcome.stderr)
        #expect(numbers.stdout == "number\n")
    }

    @Test func theLevelLeavesOutWhatIsLessSevereAndTheEnvironmentSetsBoth() async throws {
        var quiet = speedo
        quiet.environment["SPEEDO_LOG_FORMAT"] = "json"
        quiet.environment["SPEEDO_LOG_LEVEL"] = "warning"
        let outcome = try await quiet.run(["ingest", "-b", "127.0.0.1:1", "--connect-timeout", "1s"], input: "{}\n")
        #expect(outcome.status == 69, "\(outcome.stderr)")
        let lines = try await parsed(outcome.stderr, ".level, .message")
        #expect(!lines.isEmpty && lines.allSatisfy { ["warning", "error", "critical"].contains($0[0]) }, "\(outcome.stderr)")
        #expect(lines.contains { $0[0] == "error" && $0[1].contains("cannot reach Kafka at 127.0.0.1:1") }, "\(outcome.stderr)")

        let text = try await speedo.run(["--log-level", "error", "ingest", "-b", "127.0.0.1:1", "--connect-timeout", "1s"], input: "{}\n")
        let textLines = text.stderr.split(separator: "\n")
        #expect(textLines.last?.hasPrefix("speedo: error: cannot reach Kafka") == true, "\(text.stderr)")
        // librdkafka's own errors stay; speedo's notes of retrying (info) are left out.
        #expect(textLines.allSatisfy { $0.hasPrefix("speedo: error: ") || $0.hasPrefix("speedo: kafka: ") }, "\(text.stderr)")
        #expect(!text.stderr.contains("retrying"), "\(text.stderr)")
    }

    @Test(arguments: [
        (["--log-format", "yaml", "status"], #"--log-format takes text or json (got "yaml")"#),
        (["status", "--log-level", "loud"], #"--log-level takes trace, debug, info, notice, warning, error, critical (got "loud")"#),
    ])
    func aWrongSettingIsBadUsage(arguments: [String], message: String) async throws {
        let outcome = try await speedo.run(arguments)
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr == "speedo: error: \(message)\n", "\(outcome.stderr)")
    }
}
