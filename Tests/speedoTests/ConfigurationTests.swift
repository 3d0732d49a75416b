import Foundation
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// The configuration file and its profiles through the real binary: a profile reaches a real broker, a flag and the
/// environment beat it, its command defaults apply unless the command line says otherwise, mistakes are exit 64
/// with the file, line and key, and no password is ever printed, whichever way it was given and whatever fails.
@Suite(.programTurns) struct ConfigurationTests {
    private static let kafkaPassword = "kafka-Zq9v-hunter2"
    private static let postgresPassword = "pg-Wx7k-hunter3"

    private let files: TemporaryDirectory
    private let speedo: SpeedoBinary

    init() throws {
        files = try TemporaryDirectory()
        speedo = SpeedoBinary(environment: [
            "XDG_STATE_HOME": "/nonexistent", "XDG_CONFIG_HOME": files.path, "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
            "SPEEDO_CONFIG": nil, "SPEEDO_PROFILE": nil, "SPEEDO_DATABASE_URL": nil, "DATABASE_URL": nil, "PGHOST": nil,
        ])
    }

    /// Writes `$XDG_CONFIG_HOME/speedo/config.yaml`, where speedo looks without being told.
    private func writeConfiguration(_ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: files.path + "/speedo", withIntermediateDirectories: true)
        let path = files.path + "/speedo/config.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The value column of `config show`'s row `name`.
    private func row(_ name: String, of outcome: ProgramOutcome) -> String? {
        outcome.stdout.split(separator: "\n").first { $0.hasPrefix(name + "  ") }
            .map { String($0.dropFirst(name.count).drop { $0 == " " }) }
    }

    @Test func aProfileReachesItsBrokerAndFlagsAndTheEnvironmentBeatIt() async throws {
        let cluster = try MockCluster()
        for topic in ["profiled", "flagged"] { try cluster.createTopic(name: topic, partitions: 1) }
        let path = try writeConfiguration("""
            default-profile: lab
            profiles:
              lab:
                brokers: \(cluster.bootstrapServers)
                topic: profiled
                commands:
                  consume stdout:
                    format: csv
                    from: beginning
                    exit-at-end: true
              elsewhere:
                brokers: 127.0.0.1:1
            """)
        let line = #"{"sensor_id":"s-1","speed":42.5,"ts":1700000000.5}"# + "\n"

        let ingested = try await speedo.run(["ingest"], input: line)
        #expect(ingested.status == 0, "\(ingested.stderr)")
        let flagged = try await speedo.run(["ingest", "-t", "flagged"], input: line + line)
        #expect(flagged.status == 0, "\(flagged.stderr)")
        #expect(try readTopic("profiled", partitions: 1, on: cluster).count == 1)
        #expect(try readTopic("flagged", partitions: 1, on: cluster).count == 2)

        let csv = try await speedo.run(["consume", "stdout"], timeout: .seconds(30))
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == "sensor_id,speed,ts\ns-1,42.5,2023-11-14T22:13:20.5Z\n", "\(csv.stdout)")
        let ndjson = try await speedo.run(["consume", "stdout", "--format=ndjson"], timeout: .seconds(30))
        #expect(ndjson.stdout == line, "\(ndjson.stdout)")

        var shown = try await speedo.run(["config", "show"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(row("configuration file", of: shown) == "\(path) (from search path)", "\(shown.stdout)")
        #expect(row("brokers", of: shown) == "\(cluster.bootstrapServers) (from profile \"lab\", \(path):4)", "\(shown.stdout)")
        #expect(row("consume stdout --exit-at-end", of: shown) == "true (from profile \"lab\", \(path):10)", "\(shown.stdout)")
        shown = try await speedo.run(["--profile", "elsewhere", "config", "show", "-t", "flagged"])
        #expect(row("profile", of: shown) == "elsewhere (from --profile option)", "\(shown.stdout)")
        #expect(row("brokers", of: shown) == "127.0.0.1:1 (from profile \"elsewhere\", \(path):12)", "\(shown.stdout)")
        #expect(row("topic", of: shown) == "flagged (from --topic option)", "\(shown.stdout)")
        var environment = speedo
        environment.environment["SPEEDO_BROKERS"] = "env:9092"
        shown = try await environment.run(["config", "show"])
        #expect(row("brokers", of: shown) == "env:9092 (from environment variable SPEEDO_BROKERS)", "\(shown.stdout)")
    }

    @Test(arguments: [
        ("profiles:\n  lab:\n    brokers: a:1\n    topics: t\n", #"config.yaml:4: unknown key "topics" in profile "lab" (did you mean "topic"?)"#),
        ("profiles:\n  lab:\n    commands:\n      consume stdout:\n        formt: csv\n",
         #"config.yaml:5: consume stdout formt: not an option of speedo consume stdout (did you mean "format"?)"#),
        ("profiles:\n  lab:\n    commands:\n      consume stdot: {}\n",
         #"config.yaml:4: "consume stdot" is not a speedo command that runs (did you mean "consume stdout""#),
        ("profiles:\n  lab: [\n", "config.yaml:3: not valid YAML"),
    ])
    func mistakesInTheFileAreBadUsageNamingTheLine(text: String, message: String) async throws {
        _ = try writeConfiguration(text)
        let outcome = try await speedo.run(["--profile", "lab", "status"])
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    /// Every failure path a command has before or while it connects, with credentials given every way there is.
    @Test func noPasswordIsEverPrinted() async throws {
        let secret = files.path + "/kafka-password"
        try "\(Self.kafkaPassword)\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let cluster = try MockCluster()
        try cluster.createTopic(name: "speed-events", partitions: 1)
        let url = "postgresql://speedo:\(Self.postgresPassword)@127.0.0.1:1/speedo?connect_timeout=1"
        _ = try writeConfiguration("""
            profiles:
              secured:
                brokers: 127.0.0.1:1
                database-url: \(url)
                kafka:
                  security.protocol: SASL_PLAINTEXT
                  sasl.mechanisms: PLAIN
                  sasl.username: speedo
                  sasl.password: \(Self.kafkaPassword)
              mock:
                brokers: \(cluster.bootstrapServers)
                kafka:
                  security.protocol: SASL_PLAINTEXT
                  sasl.mechanisms: PLAIN
                  sasl.username: speedo
                  sasl.password: "@\(secret)"
            """)
        let broken = files.path + "/broken.yaml"
        try "profiles:\n  broken:\n    kafka:\n      sasl.password: \"\(Self.kafkaPassword)\n"
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let sasl = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=speedo"]
        let line = #"{"sensor_id":"s-1","speed":1,"ts":1700000000}"# + "\n"
        let runs: [(arguments: [String], input: String?, status: Int32)] = [
            (["--profile", "secured", "config", "show"], nil, 0),
            (["--profile", "secured", "status", "--timeout", "1s"], nil, 69),
            (["--profile", "secured", "ingest", "--connect-timeout", "1s"], line, 69),
            (["--profile", "secured", "history", "s-1", "--since", "1h"], nil, 69),
            (["--profile", "secured", "db", "gaps"], nil, 69),
            (["--profile", "mock", "consume", "stdout", "--exit-at-end", "--connect-timeout", "2s"], nil, 69),
            (["--config", broken, "status"], nil, 64),
            (["status", "--timeout", "1s", "-b", "127.0.0.1:1", "-d", url] + sasl + ["-X", "sasl.password=\(Self.kafkaPassword)"], nil, 69),
            (["ingest", "-b", "127.0.0.1:1", "--connect-timeout", "1s"] + sasl + ["-X", "sasl.password=@\(secret)"], line, 69),
            (["config", "show", "-X", "sasl.pasword=\(Self.kafkaPassword)"], nil, 64),
            (["config", "show", "-X", "sasl.password \(Self.kafkaPassword)"], nil, 64),
            (["config", "show", "-X", "sasl.password=@\(files.path)/missing"], nil, 64),
            (["history", "s-1", "--since", "1h", "-d", "postgresql://speedo:\(Self.postgresPassword)@127.0.0.1:notaport/db"], nil, 69),
            (["db", "gaps", "-d", "host=127.0.0.1 port=1 password=\(Self.postgresPassword) connect_timeout=1"], nil, 69),
        ]
        for run in runs {
            let outcome = try await speedo.run(run.arguments, input: run.input, timeout: .seconds(60))
            let printed = outcome.stdout + outcome.stderr
            #expect(outcome.status == run.status, "\(run.arguments): \(printed)")
            #expect(!printed.isEmpty, "\(run.arguments) printed nothing")
            #expect(!printed.contains(Self.kafkaPassword) && !printed.contains(Self.postgresPassword), "\(run.arguments): \(printed)")
        }
    }

    @Test func aPasswordOnTheCommandLineWorksButWarnsThatPsShowsIt() async throws {
        let shown = try await speedo.run([
            "config", "show", "-X", "sasl.password=\(Self.kafkaPassword)",
            "-d", "postgresql://speedo:\(Self.postgresPassword)@db/speedo",
        ])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(row("-X sasl.password", of: shown) == "*** (from -X sasl.password option)", "\(shown.stdout)")
        #expect(row("database-url", of: shown) == "postgresql://speedo:***@db/speedo (from --database-url option)", "\(shown.stdout)")
        for place in ["-X sasl.password", "--database-url"] {
            let warnings = shown.stderr.components(separatedBy: "speedo: warning: the password in \(place) is visible").count - 1
            #expect(warnings == 1, "\(shown.stderr)")
        }
        let secret = files.path + "/kafka-password"
        try "\(Self.kafkaPassword)\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let fromFile = try await speedo.run(["config", "show", "-X", "sasl.password=@\(secret)"])
        #expect(fromFile.stderr.isEmpty, "\(fromFile.stderr)")
        #expect(row("-X sasl.password", of: fromFile) == "*** (from -X sasl.password option, read from \(secret))", "\(fromFile.stdout)")
    }
}
