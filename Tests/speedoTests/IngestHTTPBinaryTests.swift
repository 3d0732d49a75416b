import Foundation
import SpeedoKafka
import Testing

/// The real binary serving HTTP, driven with curl, stopped with SIGTERM.
@Suite struct IngestHTTPBinaryTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
    func curlPostsToTheRealServerAndSigtermFlushes() throws {
        let cluster = try MockCluster()
        let topic = "binary-http-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 1)
        let directory = try TemporaryDirectory()
        let tokenFile = directory.path + "/token"
        try "  e2e-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)

        let server = try ServerProcess(arguments: [
            "ingest", "--listen", "127.0.0.1:0", "-b", cluster.bootstrapServers, "-t", topic,
            "--token-file", tokenFile, "--access-log",
        ])
        let address = try server.waitForListeningAddress()
        #expect(server.stderr.contains("publishing to \(topic) at \(cluster.bootstrapServers)"))

        let ts = Int(Date().timeIntervalSince1970) - 10
        let posted = try curl([
            "-H", "Authorization: Bearer e2e-token", "-H", "Content-Type: application/x-ndjson",
            "--data-binary", "{\"sensor_id\":\"e2e\",\"speed\":88,\"ts\":\(ts)}\n{\"sensor_id\":\"e2e\",\"speed\":89,\"ts\":\(ts)}\n",
            "http://\(address)/speed",
        ])
        #expect(posted == "200 {\"accepted\":2,\"rejected\":[]}")
        #expect(try curl(["http://\(address)/speed", "--data-binary", "{}", "-H", "Content-Type: application/json"])
            .hasPrefix("401 "))
        #expect(try curl(["http://\(address)/healthz"]).hasPrefix("200 {\"brokers\""))

        let outcome = server.terminate()
        #expect(outcome.status == 130, "exit status after SIGTERM: \(outcome.status); stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("every accepted reading was delivered"))
        #expect(outcome.stderr.contains("POST /speed 200"), "access log missing: \(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("listening on http://") }.count == 1)

        let consumed = try SpeedoBinary.execute(
            ["kcat", "-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k %s\\n"], timeout: .seconds(30))
        #expect(consumed.stdout == """
            e2e {"sensor_id":"e2e","speed":88,"ts":\(ts).0}
            e2e {"sensor_id":"e2e","speed":89,"ts":\(ts).0}

            """)
    }

    @Test func badListenAddressIsAUsageError() throws {
        let outcome = try SpeedoBinary().run(["ingest", "--listen", "localhost", "-b", "127.0.0.1:1"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--listen takes host:port"))
        let missingToken = try SpeedoBinary().run(["ingest", "--max-body", "1KiB", "--listen", "127.0.0.1:0", "--token-file", "/nonexistent/token", "-b", "127.0.0.1:1"])
        #expect(missingToken.status == 64)
        #expect(missingToken.stderr.contains("/nonexistent/token"))
    }

    /// `-w` appends the status code; the body comes first.
    private func curl(_ arguments: [String]) throws -> String {
        let outcome = try SpeedoBinary.execute(
            ["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"] + arguments)
        let parts = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return "\(parts.last ?? "") \(parts.dropLast().joined(separator: "\n"))"
    }
}

/// `speedo` running in the background, its stderr collected in a file.
private final class ServerProcess {
    private let process = Process()
    private let errorPath: String

    init(arguments: [String]) throws {
        errorPath = NSTemporaryDirectory() + "speedo-server-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: SpeedoBinary.path)
        process.arguments = arguments
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// host:port from the startup line.
    func waitForListeningAddress(timeout: Duration = .seconds(60)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://") }) {
                return String(line.dropFirst("listening on http://".count).prefix { $0 != "," })
            }
            try #require(process.isRunning, "speedo exited early: \(stderr)")
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "no listening line: \(stderr)"])
    }

    func terminate(timeout: Duration = .seconds(30)) -> (status: Int32, stderr: String) {
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            Issue.record("speedo did not stop within \(timeout) of SIGTERM")
            process.interrupt()
        }
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }
}
