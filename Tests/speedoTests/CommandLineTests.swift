import Foundation
import Glibc
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The command-line surface as a user meets it: help that teaches, usage errors, exit codes.
@Suite(.programTurns) struct CommandLineTests {
    let speedo = SpeedoBinary()

    /// The exit codes, each with its meaning, in `--help` and under the man page's EXIT STATUS (not the generic
    /// "0 on success, >0 on error" of the manual generator).
    @Test func helpAndTheManPageListEveryExitCode() async throws {
        let help = try await speedo.run(["--help"]).stdout
        let manual = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("man/speedo.1"),
            encoding: .utf8)
        let exitStatus = try #require(manual.components(separatedBy: ".Sh \"EXIT STATUS\"\n").last)
        #expect(!exitStatus.contains(".Ex -std"))
        for code in SpeedoExitCode.allCases {
            #expect(help.contains("\n  \(code.rawValue) "), "\(code) missing from --help")
            #expect(help.contains(code.meaning), "\(code) missing from --help")
            #expect(exitStatus.contains(".It \(code.rawValue)\n\(code.meaning)\n"), "\(code) missing from EXIT STATUS")
            #expect(manual.components(separatedBy: code.meaning).count == 2, "\(code) listed more than once in the man page")
        }
    }

    /// `history` reads its range over several connections at once; waiting for a server that does not answer, it says
    /// each retry once, not once per connection, and then exits 69 naming the server.
    @Test func historyWaitingForPostgreSQLSaysEachRetryOnce() async throws {
        let outcome = try await speedo.run([
            "history", "sensor-1", "--since", "1h", "--parallel", "4",
            "-d", "postgresql://speedo@127.0.0.1:1/speedo?connect_timeout=1",
        ])
        #expect(outcome.status == 69, "\(outcome.stderr)")
        let retries = outcome.stderr.split(separator: "\n").filter { $0.contains("retrying in") }
        #expect(retries.count >= 2 && Set(retries).count == retries.count, "\(outcome.stderr)")
        #expect(outcome.stderr.components(separatedBy: "speedo: error: cannot reach PostgreSQL at 127.0.0.1:1").count == 2)
    }

    @Test func rootHelpListsTheCommands() async throws {
        let help = try await speedo.run(["--help"])
        #expect(help.status == 0)
        for command in ["dev", "status"] {
            #expect(help.stdout.contains("  \(command) "), "--help does not list \(command)")
        }
        #expect(!help.stdout.contains("serve-broker"), "the internal broker command must stay hidden")
    }

    @Test func sharedOptionsAreDocumentedWithTheirEnvironmentVariables() async throws {
        let help = try await speedo.run(["status", "--help"])
        #expect(help.status == 0)
        for text in ["--brokers", "SPEEDO_BROKERS", "-X <key=value>", "--database-url", "SPEEDO_DATABASE_URL"] {
            #expect(help.stdout.contains(text), "status --help does not mention \(text)")
        }
    }

    /// Every command that talks to Kafka waits for a broker at startup by one rule (`--connect-timeout`); these
    /// read the topic or its ends before anything else, or follow it (watch, the gateway: once a broker answered,
    /// they keep retrying whatever happens).
    @Test(arguments: [
        ["replay", "--since", "1h"],
        ["db", "reset-offsets", "--to", "latest", "-d", "postgresql:///nowhere?host=/nonexistent"],
        ["watch", "--once"],
        ["gateway", "--listen", "127.0.0.1:0"],
    ])
    func kafkaCommandsHonourTheConnectTimeout(command: [String]) async throws {
        let outcome = try await speedo.run(command + ["-b", "127.0.0.1:9", "--connect-timeout", "3s"], timeout: .seconds(30))
        #expect(outcome.status == 69, "\(outcome.stderr)")
        #expect(outcome.elapsed < .seconds(10))
        #expect(outcome.stderr.contains("no Kafka broker answers at 127.0.0.1:9 yet (attempt 1)"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("cannot reach Kafka at 127.0.0.1:9: no broker answered within 3s"), "\(outcome.stderr)")
    }

    @Test func badUsageExits64() async throws {
        let negative = try await speedo.run(["status", "--top", "-1"])
        #expect(negative.status == 64)
        #expect(negative.stderr.contains("--top"))

        let badDuration = try await speedo.run(["status", "--timeout", "soon"])
        #expect(badDuration.status == 64)
        #expect(badDuration.stderr.contains("soon"))

        let badProperty = try await speedo.run(["status", "-X", "no-equals-sign", "--timeout", "1s"])
        #expect(badProperty.status == 64)
        #expect(badProperty.stderr.contains("no-equals-sign"))
    }

    @Test func statusNamesWhatIsUnreachableAndExits69() async throws {
        let nowhere = try TemporaryDirectory()
        let status = try await SpeedoBinary(environment: ["XDG_STATE_HOME": nowhere.path]).run([
            "status", "-b", "127.0.0.1:1", "-d", "postgresql:///speedo?host=\(nowhere.path)&port=5999",
            "--timeout", "1s",
        ])
        #expect(status.status == 69)
        #expect(status.stderr.contains("Kafka"))
        #expect(status.stderr.contains("PostgreSQL"))
        #expect(status.stderr.contains("127.0.0.1:1"))
        #expect(!status.stderr.contains("|FAIL|"), "librdkafka's raw log lines leaked: \(status.stderr)")
    }

    /// Finds no dev stack and no broker: every case here must be refused before anything connects.
    static let isolated = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent/speedo-test", "SPEEDO_BROKERS": "127.0.0.1:1",
        "SPEEDO_DATABASE_URL": "host=/nonexistent", "DATABASE_URL": nil,
    ])

    /// Out-of-range, negative, overflowing and malformed numbers for every numeric, duration and time option: exit 64
    /// at once with the option, the rule and the value in the message, never a crash (a signal) or a wait.
    static let hostileValues: [(arguments: [String], message: String)] = [
        (["simulate", "--sensors", "1", "--rate", "1e-300", "--count", "1", "--stdout"], "--rate must be from 0.0001 to 1000.0 (got 1e-300)"),
        (["simulate", "--sensors", "1", "--rate", "1e-13", "--stdout"], "--rate must be from"),
        (["simulate", "--sensors", "1", "--rate", "-1", "--stdout"], "--rate must be from 0.0001 to 1000.0 (got -1.0)"),
        (["simulate", "--sensors", "1", "--rate", "nan", "--stdout"], "--rate must be from"),
        (["simulate", "--sensors", "1", "--rate", "1e999", "--stdout"], "--rate must be from"),
        (["simulate", "--sensors", "99999999999", "--stdout"], "--sensors must be from 1 to 1000000 (got 99999999999)"),
        (["simulate", "--sensors", "-5", "--stdout"], "--sensors must be from 1 to 1000000 (got -5)"),
        (["simulate", "--sensors", "1", "--duration", "99999999999d", "--stdout"], "--duration must be from 1ms to 36500d (got 99999999999d)"),
        (["simulate", "--sensors", "1", "--duration", "1e300s", "--stdout"], #"--duration: invalid duration "1e300s""#),
        (["simulate", "--sensors", "1", "--duration", "-5s", "--stdout"], "durations take no sign"),
        (["simulate", "--sensors", "1", "--count", "-5", "--stdout"], "--count must be at least 1 (got -5)"),
        (["simulate", "--sensors", "1", "--count", "99999999999999999999", "--stdout"], "99999999999999999999"),
        (["simulate", "--sensors", "1", "--via", "http://127.0.0.1:1/speed", "--batch", "99999999"], "--batch must be from 1 to 100000 (got 99999999)"),
        (["history", "s", "--since", "1h", "--limit", "-5"], "--limit must be at least 1 (got -5)"),
        (["history", "s", "--since", "1h", "--limit", "0"], "(got 0)"),
        (["history", "s", "--since", "-5m"], "takes no sign"),
        (["history", "s", "--since", "@-99999999999"], "--since must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (got @-99999999999"),
        (["history", "s", "--since", "99999999999d"], "--since must be from 1970-01-01T00:00:00Z"),
        (["history", "s", "--since", "1h", "--until", "@999999999999"], "--until: invalid time \"@999999999999\": looks like milliseconds"),
        (["history", "s", "--since", "1h", "--bucket", "99999999999d"], "--bucket must be from 1ms to 36500d (got 99999999999d)"),
        (["history", "s", "--since", "1h", "--parallel", "-1"], "--parallel must be from 1 to 16 (got -1)"),
        (["replay", "--since", "1h", "--pace", "1e-300x"], "--pace must be from 0.001 to 1000000.0 (got 1e-300x)"),
        (["replay", "--since", "1h", "--pace", "-1x"], "--pace must be from"),
        (["db", "prune", "--older-than", "99999999d"], "--older-than must be from 1s to 36500d (got 99999999d)"),
        (["db", "prune", "--older-than", "-5d"], "--older-than"),
        (["watch", "--once", "--window", "99999999999d"], "--window must be from 1s to 1d (got 99999999999d)"),
        (["watch", "--once", "--stale", "-1s"], "--stale"),
        (["watch", "--once", "--columns", "-5"], "--columns must be from 20 to 1000 (got -5)"),
        (["consume", "latest", "--max-rate", "1e-300"], "--max-rate must be from"),
        (["consume", "latest", "--window", "99999999999d"], "--window must be from 1s to 1d"),
        (["consume", "postgres", "--batch-size", "-5"], "--batch-size must be from 1 to 1000000 (got -5)"),
        (["consume", "postgres", "--batch-interval", "99999999999d"], "--batch-interval must be from"),
        (["consume", "postgres", "--log-interval", "0s"], "--log-interval must be from"),
        (["status", "--top", "-1"], "--top must be from 0 to 100000 (got -1)"),
        (["status", "--timeout", "99999999999d"], "--timeout must be from"),
        (["status", "--max-lag", "5"], "--max-lag goes with --check"),
        (["status", "--check", "--max-lag", "10,5"], "--max-lag: the critical level 5 is below the warning level 10"),
        (["status", "--check", "--max-dlq", "1,2,3"], "--max-dlq takes a warning level, or a warning and a critical level"),
        (["status", "--check", "--max-dlq", "many"], "--max-dlq takes whole numbers of records"),
        (["status", "--check", "--max-silence", "8d"], "--max-silence must be from 1s to 7d (got 8d)"),
        (["gateway", "--max-lag", "99999999999d"], "--max-lag must be from"),
        (["gateway", "--ping-interval", "-1s"], "--ping-interval"),
        (["ingest", "--max-errors", "-5"], "--max-errors must be at least 1 (got -5)"),
        (["ingest", "--partitions", "-1"], "--partitions must be from 1 to 10000 (got -1)"),
        (["ingest", "--partitions", "99999999999"], "99999999999"),
        (["ingest", "--connect-timeout", "99999999999d"], "--connect-timeout must be from"),
        (["ingest", "--listen", "127.0.0.1:0", "--delivery-timeout", "99999999999d"], "--delivery-timeout must be from"),
        (["ingest", "--listen", "127.0.0.1:99999999999999999999"], "--listen takes host:port"),
        (["consume", "postgres", "--metrics-listen", "127.0.0.1:-1"], "--metrics-listen takes host:port"),
    ]

    @Test(arguments: hostileValues)
    func outOfRangeNumbersAreRefusedByName(arguments: [String], message: String) async throws {
        let run = try await Self.isolated.run(arguments, timeout: .seconds(20))
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        #expect(!run.stderr.contains("Missing value"), "\(arguments): \(run.stderr)")
        #expect(run.elapsed < .seconds(10), "\(arguments) waited for something")
    }

    /// -X properties librdkafka does not know or speedo's producer guarantees forbid: 64 at once, naming them.
    @Test(arguments: [
        (["watch", "--once", "-X", "no.such.property=1"], "no.such.property"),
        (["status", "-X", "no.such.property=1"], "no.such.property"),
        (["consume", "stdout", "-X", "fetch.wait.max.ms=soon"], "fetch.wait.max.ms=soon"),
        (["ingest", "-X", "acks=1"], "acks=1 is not allowed for the producer"),
        (["simulate", "--sensors", "1", "-X", "enable.idempotence=false"], "enable.idempotence=false is not allowed"),
        (["replay", "--since", "1h", "-X", "request.required.acks=0"], "request.required.acks=0 is not allowed"),
        (["consume", "latest", "-X", "acks=0"], "acks=0 is not allowed"),
    ])
    func refusedKafkaPropertiesAreBadUsageAtOnce(arguments: [String], named: String) async throws {
        let run = try await Self.isolated.run(arguments, timeout: .seconds(20))
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.contains(named), "\(arguments): \(run.stderr)")
        #expect(run.elapsed < .seconds(5), "\(arguments) did not fail at once")
    }

    @Test func aDirectoryToIngestIsBadUsage() async throws {
        let directory = try TemporaryDirectory()
        let run = try await Self.isolated.run(["ingest", directory.path])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("\(directory.path) is a directory"), "\(run.stderr)")
    }

    /// A token file that is a directory, missing or empty: 64, saying which.
    @Test func tokenFileProblemsAreNamed() async throws {
        let directory = try TemporaryDirectory()
        let empty = directory.path + "/empty"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let cluster = try MockCluster()
        for command in [["ingest", "--listen", "127.0.0.1:0"], ["gateway", "--listen", "127.0.0.1:0"]] {
            for (file, problem) in [
                (directory.path, "it is a directory"), (directory.path + "/missing", "there is no such file"),
                (empty, "is empty"),
            ] {
                let run = try await Self.isolated.run(command + ["-b", cluster.bootstrapServers, "--token-file", file], timeout: .seconds(30))
                #expect(run.status == 64, "\(command) \(file): \(run.stderr)")
                #expect(run.stderr.contains(file) && run.stderr.contains(problem), "\(command): \(run.stderr)")
                #expect(!run.stderr.contains("NSCocoaErrorDomain"), "\(run.stderr)")
            }
        }
    }

    /// A port another process listens on is named, with what to do, by every listening command.
    @Test func aPortInUseIsNamed() async throws {
        let held = try LoopbackSocket.listen()
        defer { close(held.descriptor) }
        let address = "127.0.0.1:\(held.port)"
        let cluster = try MockCluster()
        let stack = try await HistoryStack(partitions: 1)
        for arguments in [
            ["ingest", "--listen", address, "-b", cluster.bootstrapServers],
            ["gateway", "--listen", address, "-b", cluster.bootstrapServers],
            stack.consumeArguments(["--metrics-listen", address]),
        ] {
            let speedo = stack.speedo
            let run = try await speedo.run(arguments, timeout: .seconds(60))
            #expect(run.status == 69, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("\(address) is already in use (another process listens there)"), "\(arguments): \(run.stderr)")
            #expect(!run.stderr.contains("errno"), "\(run.stderr)")
        }
    }

    /// An input with no newline at all is named as such (its first line, too long) and given up on: bounded memory,
    /// exit 65, and the count of lines it made.
    @Test func anEndlessLineIsNamed() async throws {
        let cluster = try MockCluster()
        let run = try await Self.isolated.run(["ingest", "/dev/zero", "-b", cluster.bootstrapServers], timeout: .seconds(60))
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("/dev/zero:1: "), "\(run.stderr)")
        #expect(run.stderr.contains("longer than 1048576 bytes"), "\(run.stderr)")
        #expect(run.stderr.contains("/dev/zero:1: no newline in 64 MiB"), "\(run.stderr)")
        #expect(run.stderr.contains("1 line read"), "\(run.stderr)")
    }
}
