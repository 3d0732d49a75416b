import Foundation
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
import Testing

/// The launcher's life cycle, on a cluster of its own (it gets killed).
@Suite("Local PostgreSQL launcher", .serialized)
struct LocalPostgresTests {
    @Test("status follows init, start, kill -9 (stale pid), restart and stop; stop leaves no process")
    func lifeCycle() async throws {
        let directory = try makeTemporaryDirectory(prefix: "speedo-launcher")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try LocalPostgres(directory: directory + "/pg", port: 5433, settings: ClusterFixture.testSettings)
        #expect(cluster.status() == .notInitialized)

        let url = try await runOnDedicatedThread { try cluster.start() }
        #expect(url == cluster.connectionURL)
        guard case .running(let firstPID) = cluster.status() else {
            Issue.record("expected running, got \(cluster.status())")
            return
        }
        #expect(try await runOnDedicatedThread { try cluster.start() } == url, "start is idempotent")
        #expect(cluster.status() == .running(pid: firstPID))
        #expect(try await withConnection(url) { try $0.query("SELECT current_database() AS db").first?["db"] } == "speedo")
        let sharedBuffersMB = try await withConnection(url) {
            try $0.query("SELECT setting::bigint * 8 / 1024 AS mb FROM pg_settings WHERE name = 'shared_buffers'").first?.int("mb")
        }
        #expect(sharedBuffersMB.map(UInt64.init) == LocalPostgres.sharedBuffersMB(physicalMemory: ProcessInfo.processInfo.physicalMemory))

        kill(firstPID, SIGKILL)
        try await waitUntil { cluster.status() != .running(pid: firstPID) }
        #expect(cluster.status() == .stopped(stalePID: firstPID))

        try await runOnDedicatedThread { try cluster.start() }
        guard case .running(let secondPID) = cluster.status() else {
            Issue.record("expected running after restart, got \(cluster.status())")
            return
        }
        #expect(secondPID != firstPID)
        let children = childProcesses(of: secondPID)
        #expect(!children.isEmpty)
        #expect(try await withConnection(url) { try $0.query("SELECT 1 AS one").first?.int("one") } == 1)

        try await runOnDedicatedThread { try cluster.stop() }
        #expect(cluster.status() == .stopped(stalePID: nil))
        for pid in [secondPID] + children {
            #expect(!isLiveProcess(pid), "process \(pid) survived stop")
        }
        try await runOnDedicatedThread { try cluster.stop() } // stopping twice is fine
    }

    @Test(
        "shared_buffers is a quarter of the memory, between 128 MB and 1 GB",
        arguments: [(UInt64(256) << 20, UInt64(128)), (2 << 30, 512), (4 << 30, 1024), (24 << 30, 1024)])
    func sharedBuffers(memory: UInt64, expectedMB: UInt64) {
        #expect(LocalPostgres.sharedBuffersMB(physicalMemory: memory) == expectedMB)
    }

    @Test("psql accepts the connection URL")
    func psqlAcceptsTheURL() async throws {
        let directory = try makeTemporaryDirectory(prefix: "speedo-psql")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try LocalPostgres(directory: directory + "/pg", port: 5434, settings: ClusterFixture.testSettings)
        let url = try await runOnDedicatedThread { try cluster.start() }
        defer { try? cluster.stop() }
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [url, "-At", "-c", "SELECT current_user || '@' || current_database()"]
        let output = Pipe()
        psql.standardOutput = output
        try psql.runTakingTurns()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        psql.waitUntilExit()
        #expect(psql.terminationStatus == 0)
        #expect(text == "speedo@speedo\n")
    }

    @Test("as root, a directory the server's user cannot reach is replaced by a link to /var/lib/speedo",
          .enabled(if: geteuid() == 0))
    func rootFallback() async throws {
        let parent = try makeTemporaryDirectory(prefix: "speedo-private")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        chmod(parent, 0o700)
        let cluster = try LocalPostgres(directory: parent + "/pg", port: 5435, settings: ClusterFixture.testSettings)
        defer { try? FileManager.default.removeItem(atPath: cluster.directory) }
        #expect(cluster.requestedDirectory == parent + "/pg")
        #expect(cluster.directory.hasPrefix("/var/lib/speedo/pg-"))
        #expect(cluster.connectionURL.contains("host=/var/lib/speedo/pg-"))

        let url = try await runOnDedicatedThread { try cluster.start() }
        defer { try? cluster.stop() }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: parent + "/pg") == cluster.directory)
        #expect(try await withConnection(url) { try $0.query("SELECT current_user AS me").first?["me"] } == "speedo")
        // A later run given the same path finds the same cluster through the link.
        let again = try LocalPostgres(directory: parent + "/pg", port: 5435)
        #expect(again.directory == cluster.directory)
        #expect(again.status() == cluster.status())

        let reachable = try LocalPostgres(directory: "/tmp/speedo-reachable/pg")
        #expect(reachable.directory == "/tmp/speedo-reachable/pg")
    }
}

func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A process that exists and is not a zombie.
func isLiveProcess(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.range(of: ") ", options: .backwards)
    else { return false }
    return stat[end.upperBound...].first != "Z"
}

func childProcesses(of parent: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.range(of: ") ", options: .backwards)
        else { return false }
        let fields = stat[end.upperBound...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == parent
    }
}
