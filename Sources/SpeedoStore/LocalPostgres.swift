import Foundation
import SpeedoCore
import SpeedoRuntime

/// A private PostgreSQL cluster in one directory, for `speedo dev up` and for tests: unix socket
/// only (no TCP), superuser `speedo` trusted on that socket, database `speedo`.
///
/// Layout of the cluster directory: `data/` (PGDATA), `socket/` (the unix socket, at a fixed port
/// number so its name is stable), `server.log`.
///
/// Running as root: PostgreSQL refuses to, so initdb and pg_ctl run as `postgres` (or `nobody`
/// when there is no such user) through `runuser` (or `setpriv`), and the cluster directory is
/// owned by that user. That user must be able to traverse every parent directory. When it cannot
/// (typically a directory under /root, mode 700), the cluster lives in
/// `/var/lib/speedo/<name>-<hash of the requested path>` instead and the requested path becomes a
/// symlink to it: loosening the permissions of a user's home behind their back would be worse,
/// and refusing would make `sudo speedo dev up` fail for no reason the user can act on. Clients
/// running as root still connect, since root passes the socket directory's permission checks.
///
/// All methods block (they run programs and wait for them): call them from a dedicated thread.
package final class LocalPostgres: Sendable {
    package enum Status: Sendable, Equatable, CustomStringConvertible {
        case notInitialized
        /// Not running; `stalePID` is the process named by a leftover `postmaster.pid` (the server
        /// was killed or the machine rebooted), which `start()` handles.
        case stopped(stalePID: Int32?)
        case running(pid: Int32)

        package var description: String {
            switch self {
            case .notInitialized: "not initialized"
            case .stopped(nil): "stopped"
            case .stopped(let pid?): "stopped (stale postmaster.pid names pid \(pid), which is gone)"
            case .running(let pid): "running (pid \(pid))"
            }
        }
    }

    package static let superuser = "speedo"
    package static let defaultDatabase = "speedo"

    /// The directory the caller asked for (absolute).
    package let requestedDirectory: String
    /// Where the cluster really is: `requestedDirectory`, or its root fallback (see the type's comment).
    package let directory: String
    package let port: Int
    /// Extra postgresql.conf settings, e.g. `["fsync": "off"]` for throwaway test clusters.
    package let settings: [String: String]
    private let programs: ServerPrograms
    private let serviceAccount: ServiceAccount?

    package init(directory: String, port: Int = 5432, settings: [String: String] = [:]) throws(LocalPostgresError) {
        let requested = URL(fileURLWithPath: directory).standardizedFileURL.path
        programs = try ServerPrograms.locate()
        serviceAccount = geteuid() == 0 ? try ServiceAccount.pick() : nil
        requestedDirectory = requested
        self.directory = Self.location(for: requested, account: serviceAccount)
        self.port = port
        self.settings = settings
        let socketFile = "\(self.directory)/socket/.s.PGSQL.\(port)"
        guard socketFile.utf8.count <= 107 else { throw .socketPathTooLong(path: socketFile) }
    }

    package var dataDirectory: String { directory + "/data" }
    package var socketDirectory: String { directory + "/socket" }
    package var logFile: String { directory + "/server.log" }

    /// libpq URL of the `speedo` database, e.g.
    /// `postgresql:///speedo?host=/abs/cluster/socket&port=5432&user=speedo` (psql accepts it).
    package var connectionURL: String { connectionURL(database: Self.defaultDatabase) }

    package func connectionURL(database: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        return "postgresql:///\(encode(database))?host=\(encode(socketDirectory))&port=\(port)&user=\(Self.superuser)"
    }

    package func status() -> Status {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return .notInitialized }
        guard let lockFile = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let firstLine = lockFile.split(separator: "\n").first, let pid = Int32(firstLine)
        else { return .stopped(stalePID: nil) }
        return isOurPostmaster(pid) ? .running(pid: pid) : .stopped(stalePID: pid)
    }

    /// Initializes the cluster if needed, starts it unless it runs already, waits until it accepts
    /// connections and creates the `speedo` database if missing; returns `connectionURL`.
    @discardableResult
    package func start() throws -> String {
        switch status() {
        case .running:
            break
        case .notInitialized:
            try initialize()
            try launch()
        case .stopped(let stalePID):
            if stalePID != nil {
                // The server refuses to start while the pid in its lock files still exists, and after
                // a kill -9 without a reaping init it lingers as a zombie; it is verifiably not ours.
                // The same holds for the socket's lock file, in our private socket directory.
                for lockFile in [dataDirectory + "/postmaster.pid", "\(socketDirectory)/.s.PGSQL.\(port).lock"] {
                    try? FileManager.default.removeItem(atPath: lockFile)
                }
            }
            try prepareDirectories()
            try launch()
        }
        try createDefaultDatabase()
        return connectionURL
    }

    /// How `stop` ends the server: `fast` disconnects sessions and shuts down cleanly; `immediate` quits at once,
    /// as a crash would (the next start recovers from the WAL), which is how tests show writers surviving one.
    package enum ShutdownMode: String, Sendable {
        case fast, immediate
    }

    /// Stops the server, waiting until every server process is gone. Does nothing when not running.
    package func stop(mode: ShutdownMode = .fast) throws {
        guard case .running(let pid) = status() else { return }
        do {
            try run(programs.pgCtl, ["-D", dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "-s", "stop"])
        } catch {
            // Someone else may have stopped it in between; only a server still running is a failure.
            if case .running = status() { throw error }
        }
        // pg_ctl returns once the lock file is gone, which the postmaster removes just before it exits: tearing down
        // its memory still takes a while on a busy machine, and a start or a check in between would find it alive.
        let deadline = ContinuousClock.now + .seconds(10)
        while isOurPostmaster(pid) {
            guard ContinuousClock.now < deadline else { throw LocalPostgresError.stopFailed(directory: directory, pid: pid) }
            usleep(10_000)
        }
    }

    // MARK: - Steps

    private func initialize() throws {
        try prepareDirectories()
        // A data directory without PG_VERSION is the remains of an interrupted initdb.
        if FileManager.default.fileExists(atPath: dataDirectory) {
            try FileManager.default.removeItem(atPath: dataDirectory)
        }
        var arguments = [
            "-D", dataDirectory, "-U", Self.superuser, "--auth-local=trust", "--auth-host=reject",
            "-E", "UTF8", "--locale=C", "--no-instructions",
        ]
        if settings["fsync"] == "off" { arguments.append("--no-sync") }
        try run(programs.initdb, arguments)

        var configuration = [
            "listen_addresses": "''",
            "unix_socket_directories": quoted(socketDirectory),
            "port": String(port),
            "shared_buffers": "\(Self.sharedBuffersMB(physicalMemory: ProcessInfo.processInfo.physicalMemory))MB",
            "max_connections": "50",
            "lc_messages": "'C'",
        ]
        for (name, value) in settings {
            configuration[name] = Double(value) != nil || value.hasPrefix("'") ? value : quoted(value)
        }
        let lines = configuration.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        let text = "\n# Added by speedo for its private cluster.\n" + lines.joined(separator: "\n") + "\n"
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data(text.utf8))
    }

    /// A quarter of the machine's memory, between 128 MB and 1 GB (PostgreSQL's rule of thumb for a server, capped
    /// for a developer's machine). It is only address space until pages are read. With 32 MB, one sensor's day
    /// (about 75 MB of index pages) was read again from the kernel's page cache on every `speedo history`, which made
    /// the query three times slower (bench/README.md, History).
    package static func sharedBuffersMB(physicalMemory: UInt64) -> UInt64 {
        min(max(physicalMemory / 4 / (1 << 20), 128), 1024)
    }

    private func launch() throws {
        // After a kill -9, orphaned backends may hold the old shared memory for a moment; the
        // postmaster then refuses to start, so that one case is retried briefly.
        let patience = Backoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(1), maximumAttempts: 10)
        var failedAttempts = 0
        while true {
            do {
                try run(programs.pgCtl, ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-s", "start"])
                return
            } catch {
                failedAttempts += 1
                let log = logTail()
                guard log.contains("pre-existing shared memory block"),
                    let delay = patience.delay(afterFailedAttempts: failedAttempts, elapsed: .zero)
                else { throw LocalPostgresError.startFailed(directory: directory, logTail: log) }
                Thread.sleep(forTimeInterval: delay.inSeconds)
            }
        }
    }

    private func createDefaultDatabase() throws {
        let connection = try PostgresConnection.connect(connectionURL(database: "postgres"))
        defer { connection.close() }
        let existing = try connection.query(
            "SELECT 1 FROM pg_database WHERE datname = $1", [Self.defaultDatabase])
        guard existing.isEmpty else { return }
        do {
            try connection.execute("CREATE DATABASE \(quoteIdentifier(Self.defaultDatabase))")
        } catch {
            // Created concurrently by another `start()` (42P04): just as good.
            guard case .queryFailed(let failure, _) = error, failure.sqlState == "42P04" else { throw error }
        }
    }

    /// Creates the cluster and socket directories (and the root fallback's symlink), owned by the
    /// account the server runs as.
    private func prepareDirectories() throws {
        let files = FileManager.default
        if directory != requestedDirectory, (try? files.destinationOfSymbolicLink(atPath: requestedDirectory)) == nil {
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: requestedDirectory, isDirectory: &isDirectory) {
                guard isDirectory.boolValue, (try files.contentsOfDirectory(atPath: requestedDirectory)).isEmpty else {
                    throw LocalPostgresError.directoryUnusable(
                        path: requestedDirectory,
                        reason: "user \(serviceAccount?.name ?? "?") cannot reach it, and it is not empty, so it "
                            + "cannot be replaced by a symlink to \(directory)")
                }
                try files.removeItem(atPath: requestedDirectory)
            }
            try files.createDirectory(
                atPath: (requestedDirectory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: requestedDirectory, withDestinationPath: directory)
        }
        for path in [directory, socketDirectory] {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard chmod(path, 0o700) == 0 else {
                throw LocalPostgresError.directoryUnusable(path: path, reason: String(cString: strerror(errno)))
            }
            if let serviceAccount, chown(path, serviceAccount.uid, serviceAccount.gid) != 0 {
                throw LocalPostgresError.directoryUnusable(
                    path: path, reason: "cannot give it to user \(serviceAccount.name): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: - Helpers

    /// True when `pid` is alive (not a zombie) and is a postgres process serving our data
    /// directory, so a pid reused by an unrelated process after a reboot does not count.
    private func isOurPostmaster(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        let state = stat[afterName.upperBound...].prefix(1)
        guard state != "Z", state != "X",
            let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        else { return false }
        let arguments = commandLine.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.first?.hasSuffix("postgres") == true && arguments.contains(dataDirectory)
    }

    private func logTail() -> String {
        guard let log = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "(no log)" }
        return log.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    private func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Runs a server program (as the service account when root), its output captured for errors.
    @discardableResult
    private func run(_ program: String, _ arguments: [String]) throws(LocalPostgresError) -> String {
        let (executable, fullArguments) = serviceAccount?.command(program, arguments) ?? (program, arguments)
        let commandText = ([program] + arguments).joined(separator: " ")
        // The service account must be able to resolve its working directory.
        let child = ChildProcess(
            executable: executable, arguments: fullArguments, environment: Self.childEnvironment,
            workingDirectory: directory)
        let outcome: ChildProcess.Outcome
        do {
            outcome = try child.run()
        } catch {
            throw .commandFailed(command: commandText, status: -1, output: "cannot run \(executable): \(error)")
        }
        guard outcome.status == 0 else {
            throw .commandFailed(command: commandText, status: outcome.status, output: outcome.output)
        }
        return outcome.output
    }

    /// Our environment without PG* variables (they would redirect the programs) and in the C
    /// locale, so messages stay English and parseable.
    private static let childEnvironment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("LC_") && $0.key != "LANG"
        }
        environment["LC_ALL"] = "C"
        return environment
    }()

    /// See the type's comment: the requested directory, unless root's service account could not
    /// reach it. An existing symlink (made by an earlier run) is followed.
    private static func location(for requested: String, account: ServiceAccount?) -> String {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: requested) {
            return URL(fileURLWithPath: target, relativeTo: URL(fileURLWithPath: requested).deletingLastPathComponent())
                .standardizedFileURL.path
        }
        guard let account, !account.canTraverse(toward: requested) else { return requested }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a: stable across runs, unlike Hasher
        for byte in requested.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let name = (requested as NSString).lastPathComponent
        return "/var/lib/speedo/\(name)-\(String(hash, radix: 16).prefix(8))"
    }
}

/// initdb, pg_ctl and postgres from one installation.
private struct ServerPrograms: Sendable {
    let initdb: String
    let pgCtl: String

    /// Debian's highest `/usr/lib/postgresql/<version>/bin` first, then PATH.
    static func locate() throws(LocalPostgresError) -> ServerPrograms {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Double(name).map { (version: $0, directory: "\(root)/\(name)/bin") } }
            .sorted { $0.version > $1.version }
            .map(\.directory)
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in versions + path {
            let names = ["initdb", "pg_ctl", "postgres"].map { "\(directory)/\($0)" }
            if names.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) {
                return ServerPrograms(initdb: names[0], pgCtl: names[1])
            }
        }
        throw .serverNotInstalled(searched: ["\(root)/*/bin", "PATH"])
    }
}

/// The unprivileged user the server runs as when speedo runs as root.
private struct ServiceAccount: Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t
    let switcher: String

    static func pick() throws(LocalPostgresError) -> ServiceAccount {
        let switchers = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/setpriv", "/bin/setpriv"]
        guard let switcher = switchers.first(where: FileManager.default.isExecutableFile) else {
            throw .noPrivilegeDropTool
        }
        for name in ["postgres", "nobody"] {
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 4096)
            if getpwnam_r(name, &entry, &buffer, buffer.count, &found) == 0, found != nil {
                return ServiceAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid, switcher: switcher)
            }
        }
        throw .noUnprivilegedUser
    }

    func command(_ program: String, _ arguments: [String]) -> (String, [String]) {
        if switcher.hasSuffix("runuser") {
            return (switcher, ["-u", name, "--", program] + arguments)
        }
        return (switcher, ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--", program] + arguments)
    }

    /// Whether this account can search every existing directory on the way to `path` (missing
    /// ones will be created world-searchable). Supplementary groups and ACLs are not considered,
    /// which can only make the answer "no" too often, never "yes" wrongly.
    func canTraverse(toward path: String) -> Bool {
        var current = "/"
        for component in path.split(separator: "/").dropLast() {
            current = current == "/" ? "/\(component)" : "\(current)/\(component)"
            var info = stat()
            guard stat(current, &info) == 0 else { return true }
            let mode = info.st_mode
            let searchable = info.st_uid == uid ? mode & S_IXUSR != 0
                : info.st_gid == gid ? mode & S_IXGRP != 0
                : mode & S_IXOTH != 0
            if !searchable { return false }
        }
        return true
    }
}
