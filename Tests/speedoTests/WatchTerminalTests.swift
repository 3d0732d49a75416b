import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// `speedo watch` end to end in a real terminal: tmux runs the binary in a pane of a known size, the readings
/// come from an in-process mock cluster, and what the terminal shows is read back with `capture-pane`.
@Suite(.serialized, .programTurnsAhead) struct WatchTerminalTests {
    private static let environment: [String: String?] = [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
    ]
    private let speedo = SpeedoBinary(environment: Self.environment)

    /// A sensor id no validator would let in: it clears the screen, rings the bell and reverses the text.
    private static let hostileID = "evil\u{1B}[2J\u{07}\u{202E}di"

    /// Three sensors through `speedo ingest` (stamped now), plus a hostile id written by another producer.
    private func publishReadings(on cluster: MockCluster, topic: String) async throws {
        try cluster.createTopic(name: topic, partitions: 2)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // A second apart: readings of one sensor with the same time are one reading.
        let lines = [("sensor-a", 42.5), ("sensor-b", 88), ("truck-7", 123), ("sensor-a", 44.5), ("sensor-b", 90)]
            .enumerated().map { index, reading in
                #"{"sensor_id":"\#(reading.0)","speed":\#(reading.1),"ts":\#(now / 1000 - 10 + Int64(index))}"#
            }
        let ingest = try await speedo.run(["ingest", "-b", cluster.bootstrapServers, "-t", topic], input: lines.joined(separator: "\n"))
        try #require(ingest.status == 0, "\(ingest.stderr)")
        let hostileJSON = #"{"sensor_id":"evil\u001b[2J\u0007\u202edi","speed":66,"ts":\#(Double(now) / 1000)}"#
        try produceRecords([TestRecord(key: Self.hostileID, value: hostileJSON, timestampMs: now)], to: topic, on: cluster)
    }

    @Test func dashboardShowsSensorsSafelyFollowsKeysAndResizesAndQuitsCleanly() async throws {
        let cluster = try MockCluster()
        try await publishReadings(on: cluster, topic: "watched")
        let files = try TemporaryDirectory()
        let pane = try TmuxPane(
            command: watchCommand(cluster, topic: "watched", locale: "C.UTF-8", files: files), columns: 120, rows: 40)
        defer { pane.killServer() }

        let first = try await pane.waitForScreen { $0.contains("sensor-a") && $0.contains("sensor-b") && $0.contains("truck-7") }
        // A reading that arrives while watching: it appears, and its delivery lag counts in the summary.
        let live = Reading(sensorID: "sensor-live", speed: 61, timestamp: Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)))
        try produceRecords([TestRecord(live)], to: "watched", on: cluster)
        _ = try await pane.waitForScreen { $0.contains("sensor-live") }
        #expect(TmuxPane.rows(first).count == 40, "\(first)")
        // What the terminal received, attributes included: the hostile id's own control characters are not there.
        let raw = try pane.capture(escapes: true)
        #expect(!raw.contains("\u{1B}[2J") && !raw.contains("\u{07}") && !raw.contains("\u{202E}"), "\(raw.debugDescription)")
        #expect(pane.display("#{alternate_on}") == "1")

        // Filter down to one sensor, open its details (speeds are big digits in the grid, numbers here).
        try pane.sendKeys("/")
        try pane.type("sensor-a")
        try pane.sendKeys("Enter")
        _ = try await pane.waitForScreen { $0.contains("sensor-a") && !$0.contains("sensor-b") && !$0.contains("sensor-live") }
        try pane.sendKeys("Enter")
        // The grid's panel also says "last 44.5 km/h"; only the detail view counts the window's readings.
        let detail = try await pane.waitForScreen { $0.contains("last 44.5 km/h") && $0.contains("count ") }
        #expect(detail.contains("min 42.5") && detail.contains("max 44.5"), "\(detail)")
        try pane.sendKeys("Escape")
        try pane.sendKeys("/")
        try pane.sendKeys("Enter")
        _ = try await pane.waitForScreen { $0.contains("sensor-b") && $0.contains("truck-7") }

        try pane.sendKeys("?")
        let help = try await pane.waitForScreen { $0.contains("this help") }
        #expect(help.contains("quit") && !help.contains("sensor-a"), "\(help)")
        try pane.sendKeys("Escape")
        _ = try await pane.waitForScreen { !$0.contains("this help") && $0.contains("sensor-a") }

        try pane.resize(columns: 80, rows: 24)
        let small = try await pane.waitForScreen { screen in
            TmuxPane.rows(screen).count == 24 && screen.contains("sensor-a")
        }
        for row in TmuxPane.rows(small) {
            #expect(DisplayCells.count(row) <= 80, "\(row)")
        }

        try pane.sendKeys("q")
        let status = try await pane.waitForExitStatus(files)
        #expect(status == "0")
        let errors = try String(contentsOfFile: files.path + "/stderr", encoding: .utf8)
        let summary = #/speedo watch: [\d,]+ readings from watched in \d+\.\d s \([\d,]+/s\); delivery lag p50 [\d,]+ ms, p99 [\d,]+ ms/#
        #expect(errors.contains(summary), "\(errors)")
    }

    @Test func theCLocaleGetsPlainASCII() async throws {
        let cluster = try MockCluster()
        try await publishReadings(on: cluster, topic: "ascii")
        let files = try TemporaryDirectory()
        let pane = try TmuxPane(command: watchCommand(cluster, topic: "ascii", locale: "C", files: files))
        defer { pane.killServer() }
        let screen = try await pane.waitForScreen { $0.contains("sensor-a") && $0.contains("truck-7") }
        let foreign = screen.unicodeScalars.filter { !$0.isASCII }
        #expect(foreign.isEmpty, "non-ASCII under LANG=C: \(String(String.UnicodeScalarView(foreign)).debugDescription)")
        try pane.sendKeys("q")
        await #expect(try pane.waitForExitStatus(files) == "0")
    }

    @Test func aCrashGivesTheTerminalBack() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "crash", partitions: 1)
        let files = try TemporaryDirectory()
        // Without the runtime's backtracer, the process dies of the signal once the terminal is restored.
        let pane = try TmuxPane(
            command: watchCommand(cluster, topic: "crash", locale: "C.UTF-8", files: files, extra: "SWIFT_BACKTRACE=enable=no"))
        defer { pane.killServer() }
        _ = try await pane.waitForScreen { $0.contains("crash") }
        #expect(pane.display("#{alternate_on}") == "1")
        try await pane.signalCommand("SEGV")
        await #expect(try pane.waitForExitStatus(files) == "139")
        #expect(pane.display("#{alternate_on}") == "0")
    }

    /// A signal stops the dashboard like `q`, the terminal given back: SIGTERM, how a session or a service manager
    /// ends it, is a clean stop (0); SIGINT sent to the process, a person's interruption (130).
    @Test(arguments: [("TERM", "0"), ("INT", "130")])
    func aSignalStopsTheDashboardAndGivesTheTerminalBack(signal: String, status: String) async throws {
        let cluster = try MockCluster()
        try await publishReadings(on: cluster, topic: "signalled")
        let files = try TemporaryDirectory()
        let pane = try TmuxPane(command: watchCommand(cluster, topic: "signalled", locale: "C.UTF-8", files: files))
        defer { pane.killServer() }
        _ = try await pane.waitForScreen { $0.contains("sensor-a") }
        #expect(pane.display("#{alternate_on}") == "1")
        try await pane.signalCommand(signal)
        #expect(try await pane.waitForExitStatus(files) == status)
        #expect(pane.display("#{alternate_on}") == "0")
        let stderr = try String(contentsOfFile: files.path + "/stderr", encoding: .utf8)
        #expect(stderr.contains("speedo watch: stopped on a signal"), "\(stderr)")
    }

    /// No broker at startup: the dashboard says what it waits for, gives up after --connect-timeout like every command,
    /// gives the terminal back, then names the problem and exits 69.
    @Test func brokersThatNeverAnswerEndTheDashboardAfterTheConnectTimeout() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "absent", partitions: 1)
        try cluster.setBroker(1, up: false)
        let files = try TemporaryDirectory()
        let pane = try TmuxPane(command: watchCommand(
            cluster, topic: "absent", locale: "C.UTF-8", files: files, arguments: "--connect-timeout 4s"))
        defer { pane.killServer() }
        _ = try await pane.waitForScreen { $0.contains("no Kafka broker answers at \(cluster.bootstrapServers) yet (attempt") }
        await #expect(try pane.waitForExitStatus(files) == "69")
        #expect(pane.display("#{alternate_on}") == "0")
        let stderr = try String(contentsOfFile: files.path + "/stderr", encoding: .utf8)
        #expect(stderr.contains("cannot reach Kafka at \(cluster.bootstrapServers): no broker answered within 4s"), "\(stderr)")
    }

    @Test func withoutATerminalItSaysWhatToUseAndOnceprintsOnePlainFrame() async throws {
        let cluster = try MockCluster()
        try await publishReadings(on: cluster, topic: "plain")
        let interactive = try await speedo.run(["watch", "-b", cluster.bootstrapServers, "-t", "plain"])
        #expect(interactive.status == 64)
        #expect(interactive.stderr.contains(
            "speedo watch needs an interactive terminal; use `speedo watch --once` for one plain-text frame, "
                + "or `speedo consume stdout` for the stream"), "\(interactive.stderr)")

        let once = try await speedo.run(
            ["watch", "--once", "--source", "events", "--columns", "72", "-b", cluster.bootstrapServers, "-t", "plain"])
        #expect(once.status == 0, "\(once.stderr)")
        for id in ["sensor-a", "sensor-b", "truck-7"] { #expect(once.stdout.contains(id), "\(once.stdout)") }
        #expect(!once.stdout.contains("\u{1B}") && !once.stdout.contains("\u{07}") && !once.stdout.contains("\u{202E}"))
        for line in once.stdout.split(separator: "\n") { #expect(DisplayCells.count(line) <= 72, "\(line)") }
    }

    @Test func demoStartsThePipelineAndStopsItsBackgroundParts() async throws {
        let state = try TemporaryDirectory(), logs = try TemporaryDirectory()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/demo.sh").path
        let stack = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path])
        try await stack.takingTheDevStackDownAfterwards {
            let demo = try await runProgram(
                [script],
                environment: [
                    "XDG_STATE_HOME": state.path, "SPEEDO_BIN": SpeedoBinary.path, "DEMO_WATCH": "watch --once --columns 80",
                    "DEMO_LOGS": logs.path, "SPEEDO_BROKERS": nil, "SPEEDO_DATABASE_URL": nil, "DATABASE_URL": nil,
                ],
                timeout: .seconds(120))
            #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
            for part in ["consume-postgres", "consume-latest", "simulate"] {
                #expect(demo.stdout.contains("stopped \(part) (pid "), "\(demo.stdout)")
                let pid = try #require(Int32(String(contentsOfFile: "\(logs.path)/\(part).pid", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
                #expect(kill(pid, 0) != 0, "\(part) (pid \(pid)) still running")
                #expect(FileManager.default.fileExists(atPath: "\(logs.path)/\(part).log"))
            }
            #expect(demo.stdout.contains("logs: \(logs.path)"))
            let status = try await stack.run(["dev", "status"])
            #expect(status.status == 0, "the dev stack should stay up: \(status.stdout)")
        }
    }

    /// The shell command a pane runs: watch with its stderr and exit status in files.
    private func watchCommand(
        _ cluster: MockCluster, topic: String, locale: String, files: TemporaryDirectory, extra: String = "",
        arguments: String = ""
    ) -> String {
        let unset = Self.environment.compactMap { $0.value == nil ? "-u \($0.key)" : nil }.joined(separator: " ")
        let set = Self.environment.compactMap { name, value in value.map { "\(name)=\($0)" } }.joined(separator: " ")
        return "env \(unset) \(set) LANG=\(locale) LC_ALL=\(locale) \(extra) '\(SpeedoBinary.path)' watch"
            + " -b \(cluster.bootstrapServers) -t \(topic) --source events --window 5m \(arguments) 2>'\(files.path)/stderr';"
            + " echo $? >'\(files.path)/status'; exec sleep 120"
    }
}

/// Terminal cells of captured text, independent of the code under test: every character here is one cell
/// (the dashboard's block, braille and box characters are all narrow).
private enum DisplayCells {
    static func count(_ line: some StringProtocol) -> Int { line.unicodeScalars.count }
}
