import Foundation
import SpeedoTestSupport
import Testing

/// `speedo dev up|env|status|down` end to end, checked with independent clients (kcat, psql).
@Suite(.serialized, .programTurnsAhead) struct DevStackTests {
    @Test func lifecycleAsTheCurrentUser() async throws {
        let state = try TemporaryDirectory()
        try await exerciseLifecycle(SpeedoBinary(environment: ["XDG_STATE_HOME": state.path]), state: state.path)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to switch to an unprivileged user"))
    func lifecycleAsAnUnprivilegedUser() async throws {
        let state = try TemporaryDirectory(owner: "nobody")
        // The checkout may lie in a directory only its owner can enter (a clone into `mktemp -d`): the other user
        // runs a copy of the binary from a directory anyone can read.
        let binaries = try TemporaryDirectory()
        let copy = binaries.path + "/speedo"
        try FileManager.default.copyItem(atPath: SpeedoBinary.path, toPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
        var speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path, "HOME": state.path], user: "nobody")
        speedo.executable = copy
        try await exerciseLifecycle(speedo, state: state.path)
    }

    /// A broker killed behind speedo's back comes back on the same address, and clients that kept running (a
    /// consumer and a producer nobody told) carry on with the new, empty broker.
    @Test func brokerComesBackOnTheSameAddressForRunningClients() async throws {
        let state = try TemporaryDirectory()
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path])
        try await speedo.takingTheDevStackDownAfterwards {
            let up = try await speedo.run(["dev", "up"])
            try #require(up.status == 0, "dev up failed: \(up.stderr)")
            let brokers = try #require(try await devEnvironment(speedo)["SPEEDO_BROKERS"])

            let consumed = try TemporaryFile()
            let consumer = try BackgroundSpeedo(speedo, ["consume", "stdout", "-b", brokers], standardOutput: consumed.path)
            let producer = try BackgroundSpeedo(
                speedo, ["simulate", "--sensors", "2", "--rate", "2", "--prefix", "restart-", "-b", brokers])
            try await waitUntil(timeout: .seconds(30), "the consumer reading the producer's readings") {
                consumed.contents().contains("restart-")
            }

            let killed = try recordedBrokerPID(state: state.path)
            kill(killed, SIGKILL)
            try waitUntilGone(killed)
            let again = try await speedo.run(["dev", "up"])
            try #require(again.status == 0, "dev up after a kill failed: \(again.stderr)")
            #expect(again.stdout.contains("broker    started   \(brokers) "), "not on the same address: \(again.stdout)")
            #expect(try await devEnvironment(speedo)["SPEEDO_BROKERS"] == brokers)

            // The new broker started empty: readings of the producer on it were published after the restart.
            try await waitUntil(timeout: .seconds(60), "the running simulate publishing to the new broker") {
                let read = try await runProgram(
                    ["kcat", "-C", "-b", brokers, "-t", "speed-events", "-e", "-q", "-f", "%k\\n"], timeout: .seconds(10))
                return read.stdout.contains("restart-")
            }
            let ingest = try await speedo.run(["ingest", "-b", brokers], input: "{\"sensor_id\":\"after-restart\",\"speed\":42}\n")
            #expect(ingest.status == 0, "ingest to the new broker failed: \(ingest.stderr)")
            try await waitUntil(timeout: .seconds(60), "the running consumer reading a reading sent after the restart") {
                consumed.contents().contains("\"after-restart\"")
            }
            #expect(consumer.process.isRunning, "the consumer ended: \(consumer.stderr)")
            #expect(producer.process.isRunning, "the producer ended: \(producer.stderr)")
        }
    }

    /// The dev topics are sized for the demo's 20 sensors at 1 Hz: a partition of its own for each keeps a working
    /// day of its readings within the mock's limit (README, `dev status`); two in one partition would halve it.
    @Test func demoSensorsEachGetAPartitionOfTheirOwn() async throws {
        let state = try TemporaryDirectory()
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path])
        try await speedo.takingTheDevStackDownAfterwards {
            let up = try await speedo.run(["dev", "up"])
            try #require(up.status == 0, "dev up failed: \(up.stderr)")
            let brokers = try #require(try await devEnvironment(speedo)["SPEEDO_BROKERS"])

            let simulate = try await speedo.run(["simulate", "--sensors", "20", "--rate", "100", "--count", "40", "-b", brokers])
            try #require(simulate.status == 0, "simulate failed: \(simulate.stderr)")
            let read = try await runProgram(
                ["kcat", "-C", "-b", brokers, "-t", "speed-events", "-e", "-q", "-f", "%k %p\\n"])
            try #require(read.status == 0, "kcat -C failed: \(read.stderr)")
            var partitionsBySensor: [String: Set<String>] = [:]
            for line in read.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ")
                partitionsBySensor[String(fields[0]), default: []].insert(String(fields[1]))
            }
            #expect(partitionsBySensor.count == 20, "\(read.stdout)")
            let partitions = partitionsBySensor.values.flatMap { $0 }
            #expect(Set(partitions).count == 20, "sensors share partitions: \(partitionsBySensor)")
        }
    }

    private func exerciseLifecycle(_ speedo: SpeedoBinary, state: String) async throws {
        try await speedo.takingTheDevStackDownAfterwards {

            let up = try await speedo.run(["dev", "up"])
            try #require(up.status == 0, "dev up failed: \(up.stderr)")
            #expect(up.stdout.contains("broker    started"))
            #expect(up.stdout.contains("postgres  started"))

            let again = try await speedo.run(["dev", "up"])
            #expect(again.status == 0)
            #expect(again.stdout.contains("broker    running"), "a second up must find the broker running: \(again.stdout)")
            #expect(again.stdout.contains("postgres  running"))

            let endpoints = try await devEnvironment(speedo)
            let brokers = try #require(endpoints["SPEEDO_BROKERS"])
            let databaseURL = try #require(endpoints["SPEEDO_DATABASE_URL"])

            let metadata = try await runProgram(["kcat", "-L", "-b", brokers], user: speedo.user)
            #expect(metadata.status == 0, "kcat -L failed: \(metadata.stderr)")
            #expect(metadata.stdout.contains("1 brokers"))

            let query = try await runProgram(
                ["psql", databaseURL, "-Atc", "select count(*) from speed_readings"], user: speedo.user)
            #expect(query.status == 0, "psql failed: \(query.stderr)")
            #expect(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

            let status = try await speedo.run(["status", "--timeout", "5s"])
            #expect(status.status == 0, "status failed: \(status.stderr)")
            #expect(status.stdout.contains(brokers))

            // A broker killed behind speedo's back is detected as stale and replaced by the next up.
            let brokerPID = try recordedBrokerPID(state: state)
            kill(brokerPID, SIGKILL)
            try waitUntilGone(brokerPID)
            let afterKill = try await speedo.run(["dev", "status"])
            #expect(afterKill.status == 69)
            #expect(afterKill.stdout.contains("stale record of pid \(brokerPID)"))
            let repaired = try await speedo.run(["dev", "up"])
            #expect(repaired.status == 0, "dev up after a kill failed: \(repaired.stderr)")
            #expect(repaired.stdout.contains("broker    started"))
            #expect(repaired.stdout.contains("postgres  running"))

            let postgresPID = try recordedPostgresPID(state: state)
            let newBrokerPID = try recordedBrokerPID(state: state)
            let down = try await speedo.run(["dev", "down"])
            #expect(down.status == 0, "dev down failed: \(down.stderr)")
            #expect(!isAlive(newBrokerPID), "the broker survived dev down")
            #expect(!isAlive(postgresPID), "PostgreSQL survived dev down")

            let env = try await speedo.run(["dev", "env"])
            #expect(env.status == 69)
            #expect(env.stderr.contains("speedo dev up"))
        }
    }

    private func devEnvironment(_ speedo: SpeedoBinary) async throws -> [String: String] {
        let env = try await speedo.run(["dev", "env"])
        try #require(env.status == 0, "dev env failed: \(env.stderr)")
        // Evaluate the lines with a real shell, exactly as `eval "$(speedo dev env)"` would.
        let shell = try await runProgram([
            "bash", "-c", "eval \"$1\"; bash -c 'echo \"SPEEDO_BROKERS=$SPEEDO_BROKERS\"; echo \"SPEEDO_DATABASE_URL=$SPEEDO_DATABASE_URL\"'",
            "_", env.stdout,
        ])
        var values: [String: String] = [:]
        for line in shell.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    private func recordedBrokerPID(state: String) throws -> Int32 {
        let data = try Data(contentsOf: URL(fileURLWithPath: state + "/speedo/broker.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require((object["pid"] as? NSNumber)?.int32Value)
    }

    private func recordedPostgresPID(state: String) throws -> Int32 {
        // Through the symlink when, as root, the cluster lives under /var/lib/speedo.
        let lockFile = state + "/speedo/postgres/data/postmaster.pid"
        let text = try String(contentsOfFile: lockFile, encoding: .utf8)
        return try #require(Int32(text.split(separator: "\n").first ?? ""))
    }

    private func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 && !isZombie(pid)
    }

    private func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    private func waitUntilGone(_ pid: Int32) throws {
        for _ in 0..<200 where isAlive(pid) { Thread.sleep(forTimeInterval: 0.05) }
        try #require(!isAlive(pid))
    }
}
