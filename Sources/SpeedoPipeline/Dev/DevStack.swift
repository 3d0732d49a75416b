package import Foundation
package import SpeedoCore
package import SpeedoRuntime
package import SpeedoStore

/// The embedded local stack: librdkafka's mock cluster served by a detached `speedo dev serve-broker`
/// process, and a private PostgreSQL cluster, both kept under `$XDG_STATE_HOME/speedo`.
///
/// Nothing recorded here is trusted blindly: a broker record whose process is gone, or is not ours
/// (a recycled pid after a reboot), counts as stale and is repaired by the next `up`.
package struct DevStack {
    /// The hidden subcommand that serves the broker (`speedo dev serve-broker`): the stack starts it and recognises it.
    package static let brokerCommandName = "serve-broker"

    package let directory: String

    package init(
        directory: String
    ) {
        self.directory = directory
    }

    package var brokerRecordPath: String { directory + "/broker.json" }
    package var brokerLogPath: String { directory + "/broker.log" }
    /// Kept across restarts and `dev down`: the port clients were given.
    package var brokerPortPath: String { directory + "/broker-port" }

    package func postgres() throws(LocalPostgresError) -> LocalPostgres {
        try LocalPostgres(directory: directory + "/postgres")
    }

    package static func located(environment: [String: String]) -> DevStack {
        let stateHome: String
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            stateHome = xdg
        } else {
            stateHome = homeDirectory(environment: environment) + "/.local/state"
        }
        return DevStack(directory: stateHome + "/speedo")
    }

    private static func homeDirectory(environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// The endpoints other commands fall back to; nil unless both parts are running.
    package func runningEndpoints() -> DevStackEndpoints? {
        guard case .running(let broker) = brokerState(), let postgres = try? postgres(),
            case .running = postgres.status()
        else { return nil }
        return DevStackEndpoints(brokers: broker.bootstrapServers, databaseURL: postgres.connectionURL)
    }

    // MARK: Broker

    package struct BrokerRecord: Codable, Equatable {
        package var pid: Int32
        package var bootstrapServers: String
        package var startedAt: Date
        /// Where the mock cluster itself listens (what Kafka metadata advertises), behind `bootstrapServers`.
        package var mockBootstrapServers: String?

        package init(pid: Int32, bootstrapServers: String, startedAt: Date, mockBootstrapServers: String?) {
            (self.pid, self.bootstrapServers, self.startedAt) = (pid, bootstrapServers, startedAt)
            self.mockBootstrapServers = mockBootstrapServers
        }
    }

    package enum BrokerState: Equatable {
        case running(BrokerRecord)
        case stopped
        /// A record was left behind by a process that is gone (killed, or the machine rebooted).
        case stale(BrokerRecord)
    }

    package func brokerState() -> BrokerState {
        guard let data = FileManager.default.contents(atPath: brokerRecordPath),
            let record = try? JSONDecoder().decode(BrokerRecord.self, from: data)
        else { return .stopped }
        return isServingBroker(pid: record.pid) ? .running(record) : .stale(record)
    }

    /// True when `pid` is alive and is a `speedo dev serve-broker` for this state directory.
    private func isServingBroker(pid: Int32) -> Bool {
        guard let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else {
            return false
        }
        let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.contains(DevStack.brokerCommandName) && arguments.contains(directory)
    }

    package func writeBrokerRecord(_ record: BrokerRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: brokerRecordPath), options: .atomic)
    }

    package func removeBrokerRecord() {
        try? FileManager.default.removeItem(atPath: brokerRecordPath)
    }

    package static func brokerAddress(port: UInt16) -> String { "127.0.0.1:\(port)" }

    /// The port the dev broker was given the last time, if any.
    package func rememberedBrokerPort() -> UInt16? {
        (try? String(contentsOfFile: brokerPortPath, encoding: .utf8))
            .flatMap { UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Listens on the remembered broker port, so that running clients and exported SPEEDO_BROKERS reach the new
    /// broker; on a new free port (then remembered) the first time, or when another process took the old one.
    package func bindBrokerListener(notes: Notes) throws -> LoopbackListener {
        if let remembered = rememberedBrokerPort() {
            do {
                return try LoopbackListener.bind(port: remembered)
            } catch .portTaken {
                notes.note(
                    "speedo dev broker: port \(remembered), the dev broker's address until now, is taken by another "
                        + "process (`ss -ltnp 'sport = :\(remembered)'` names it); listening on a new port instead")
            } catch {
                throw CommandFailure(.unavailable, "the dev broker cannot listen: \(error)")
            }
        }
        let listener: LoopbackListener
        do {
            listener = try LoopbackListener.bind(port: 0)
        } catch {
            throw CommandFailure(.unavailable, "the dev broker cannot listen on a loopback port: \(error)")
        }
        try String(listener.port).write(toFile: brokerPortPath, atomically: true, encoding: .utf8)
        return listener
    }

    /// Starts `speedo dev serve-broker` detached from us and waits until its record appears and its
    /// port accepts connections.
    package func startBroker(timeout: Duration = .seconds(15)) throws -> BrokerRecord {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeBrokerRecord()
        let broker = ChildProcess(
            executable: try currentExecutablePath(),
            arguments: ["dev", DevStack.brokerCommandName, "--state-directory", directory],
            workingDirectory: directory)
        let pid = try broker.startDetached(logFile: brokerLogPath)

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if case .running(let record) = brokerState(), TCPProbe.accepts(record.bootstrapServers) {
                return record
            }
            var exitStatus: Int32 = 0
            if waitpid(pid, &exitStatus, WNOHANG) == pid { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CommandFailure(
            .unavailable,
            "the dev broker did not come up within \(timeout); its log is \(brokerLogPath):\n\(logTail(brokerLogPath))")
    }

    /// Stops the broker with SIGTERM (it removes its own record), then SIGKILL if it does not go.
    package func stopBroker(_ record: BrokerRecord, timeout: Duration = .seconds(10)) {
        kill(record.pid, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline, isServingBroker(pid: record.pid) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        if isServingBroker(pid: record.pid) {
            kill(record.pid, SIGKILL)
        }
        removeBrokerRecord()
    }

    private func logTail(_ path: String, lines: Int = 10) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// The path of the running binary, so the stack is served by the same speedo that started it.
package func currentExecutablePath() throws -> String {
    do {
        return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    } catch {
        throw CommandFailure(.unavailable, "cannot find the speedo executable (/proc/self/exe): \(error.localizedDescription)")
    }
}
