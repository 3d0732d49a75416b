import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// `speedo simulate` as a user runs it: output, pacing, usage errors, pipes and signals.
@Suite(.programTurns) struct SimulateTests {
    let speedo = SpeedoBinary()

    private func decodeAll(_ output: String) -> [Reading] {
        let now = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        var decoder = ReadingDecoder(format: .ndjson)
        return output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            switch Array(line.utf8).withUnsafeBytes({ decoder.decode(line: $0, now: now) }) {
            case .reading(let reading):
                return reading
            case let other:
                Issue.record("not a valid reading: \(line) (\(other))")
                return nil
            }
        }
    }

    @Test func theSameSeedAndStartGiveTheSameBytes() async throws {
        let arguments = ["simulate", "--sensors", "3", "--count", "30", "--seed", "7", "--rate", "100", "--stdout"]
        let fixedStart = ["--start", "@1764000000"]
        let first = try await speedo.run(arguments + fixedStart)
        let second = try await speedo.run(arguments + fixedStart)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        #expect(first.stdout.hasSuffix("\n"))
        let readings = decodeAll(first.stdout)
        #expect(readings.count == 30)
        #expect(readings.map(\.sensorID) == (0..<30).map { "sensor-\($0 % 3)" })
        // 300 readings per second from 2025-11-24T16:00:00Z on, to the nearest microsecond.
        let expectedTimes: [Int64] = (0..<30).map { (n: Int64) in 1_764_000_000_000_000 + (n * 1_000_000 + 150) / 300 }
        #expect(readings.map(\.timestamp.microseconds) == expectedTimes)
        #expect(first.stderr.contains("seed 7"))

        // Without --start the times are today's, the drive is the same.
        let now = try await speedo.run(arguments)
        #expect(decodeAll(now.stdout).map(\.speed) == readings.map(\.speed))
    }

    /// The live path's setting is the one librdkafka runs with (read back from the producer, not from speedo's own
    /// list): a 1 ms linger; `-X` still wins.
    @Test func theLivePathSettingIsInEffect() async throws {
        let cluster = try MockCluster()
        let binary = SpeedoBinary(environment: ["XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil])
        let base = ["--log-level", "debug", "simulate", "--sensors", "1", "--count", "1", "-b", cluster.bootstrapServers]
        let tuned = try await binary.run(base)
        #expect(tuned.status == 0, "\(tuned.stderr)")
        #expect(tuned.stderr.contains("live path: linger.ms=1 publishing"), "\(tuned.stderr)")
        let overridden = try await binary.run(base + ["-X", "linger.ms=7"])
        #expect(overridden.stderr.contains("live path: linger.ms=7 publishing"), "\(overridden.stderr)")
    }

    @Test func publishingToKafkaPutsTheSameReadingsOnTheTopicAsStdout() async throws {
        let cluster = try MockCluster()
        let arguments = ["simulate", "--sensors", "4", "--count", "40", "--seed", "11", "--rate", "100", "--start", "@1764000000"]
        let published = try await SpeedoBinary(environment: ["XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil])
            .run(arguments + ["-b", cluster.bootstrapServers, "-t", "simulated"])
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stderr.contains("40 readings confirmed by the broker, 0 not confirmed"), "\(published.stderr)")

        let printed = try await speedo.run(arguments + ["--stdout"])
        let expected = decodeAll(printed.stdout).map { reading in
            "\(reading.sensorID)|\(String(decoding: CanonicalJSON.encode(reading), as: UTF8.self))|\(reading.timestamp.milliseconds)"
        }
        #expect(expected.count == 40)
        #expect(try await topicContents(cluster, "simulated") == expected.sorted())
    }

    @Test func aDurationRunKeepsTheRate() async throws {
        let run = try await speedo.run(["simulate", "--duration", "2s", "--rate", "50", "--sensors", "10", "--stdout"])
        let elapsed = run.elapsed
        #expect(run.status == 0, "\(run.stderr)")
        let readings = decodeAll(run.stdout)
        #expect((980...1_020).contains(readings.count), "\(readings.count) readings")
        #expect(Set(readings.map(\.sensorID)).count == 10)
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(5), "took \(elapsed)")
        // The times stamped span the two seconds.
        let span = readings.last!.timestamp - readings.first!.timestamp
        #expect(span.microseconds >= 1_990_000 && span.microseconds < 2_000_000)
        for text in ["1000 readings", "target 500", "rate error", "seed "] {
            #expect(run.stderr.contains(text), "the summary does not say \(text): \(run.stderr)")
        }
    }

    @Test(arguments: [
        (["--sensors", "3", "--stdout", "--via", "http://127.0.0.1:9/speed"], "choose one"),
        (["--sensors", "3", "--stdout", "--duration", "1s", "--count", "5"], "--duration and --count"),
        (["--sensors", "3", "--stdout", "--batch", "10"], "needs --via"),
        (["--sensors", "0", "--stdout"], "--sensors must be from 1 to 1000000 (got 0)"),
        (["--sensors", "3", "--rate", "0", "--stdout"], "--rate"),
        (["--sensors", "3", "--rate", "5000", "--stdout"], "add --sensors"),
        (["--sensors", "3", "--stdout", "--duration", "soon"], "invalid duration"),
        (["--sensors", "3", "--via", "ftp://example/speed"], "http://"),
        (["--sensors", "3", "--stdout", "--prefix", "car #"], "--prefix"),
        (["--sensors", "3", "--stdout", "--start", "@4000000000"], "future"),
    ])
    func badCombinationsExit64WithATeachingMessage(arguments: [String], message: String) async throws {
        let run = try await speedo.run(["simulate"] + arguments)
        #expect(run.status == 64)
        #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func aReaderThatStopsEarlyEndsTheRunCleanly() async throws {
        let run = try await runProgram([
            "bash", "-o", "pipefail", "-c", "\(SpeedoBinary.path) simulate --sensors 2 --rate 1000 --stdout | head -n 5",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").count == 5)
        #expect(run.stderr.contains("closed"))
    }

    /// Ctrl-C cuts a run short: 130. SIGTERM is how a service manager stops it: a clean stop, 0. Both flush first.
    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(0))])
    func aSignalFlushesTheRunAndChoosesTheExitCode(signal: Int32, status: Int32) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SpeedoBinary.path)
        process.arguments = ["simulate", "--sensors", "4", "--rate", "20", "--stdout"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.runTakingTurns()
        try await Task.sleep(for: .seconds(1))
        kill(process.processIdentifier, signal)
        let (data, summary) = try await runOnDedicatedThread(name: "speedo-test") {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let summary = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (data, summary)
        }
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == status, "\(summary)")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasSuffix("\n"), "the last line was cut")
        let readings = decodeAll(text)
        #expect(readings.count > 20)
        #expect(summary.contains("\(readings.count) readings"), "\(summary)")
        #expect(summary.contains("interrupted"))
        #expect(!summary.contains("speedo: error"), "\(summary)")
    }

    @Test func helpShowsExamples() async throws {
        let help = try await speedo.run(["simulate", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("speedo simulate --sensors 20 --stdout | speedo ingest"))
        #expect(help.stdout.contains("--seed"))
        #expect(try await speedo.run(["--help"]).stdout.contains("  simulate "))
    }
}
