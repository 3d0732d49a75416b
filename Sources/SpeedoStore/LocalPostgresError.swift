/// Failures of the private-cluster launcher, each with a stable `code` and what to do about it.
package enum LocalPostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    case serverNotInstalled(searched: [String])
    case noPrivilegeDropTool
    case noUnprivilegedUser
    case socketPathTooLong(path: String)
    case directoryUnusable(path: String, reason: String)
    case commandFailed(command: String, status: Int32, output: String)
    case startFailed(directory: String, logTail: String)
    case stopFailed(directory: String, pid: Int32)

    package var code: String {
        switch self {
        case .serverNotInstalled: "local-postgres.not-installed"
        case .noPrivilegeDropTool: "local-postgres.no-runuser"
        case .noUnprivilegedUser: "local-postgres.no-unprivileged-user"
        case .socketPathTooLong: "local-postgres.socket-path-too-long"
        case .directoryUnusable: "local-postgres.directory-unusable"
        case .commandFailed: "local-postgres.command-failed"
        case .startFailed: "local-postgres.start-failed"
        case .stopFailed: "local-postgres.stop-failed"
        }
    }

    package var description: String {
        switch self {
        case .serverNotInstalled(let searched):
            "PostgreSQL server programs (initdb, pg_ctl, postgres) not found in \(searched.joined(separator: ", ")); "
                + "install them with `apt-get install postgresql` (the server is needed only for the local dev cluster)"
        case .noPrivilegeDropTool:
            "PostgreSQL refuses to run as root and neither `runuser` nor `setpriv` (util-linux) was found to run it "
                + "as an unprivileged user; install util-linux or run speedo as a normal user"
        case .noUnprivilegedUser:
            "PostgreSQL refuses to run as root and there is neither a `postgres` nor a `nobody` user to run it as; "
                + "create one (`useradd --system postgres`) or run speedo as a normal user"
        case .socketPathTooLong(let path):
            "the PostgreSQL socket path \(path) is longer than unix sockets allow (107 bytes); use a shorter directory"
        case .directoryUnusable(let path, let reason):
            "cannot use \(path) for the local PostgreSQL cluster: \(reason)"
        case .commandFailed(let command, let status, let output):
            "`\(command)` failed with exit status \(status): \(output.suffix(2000))"
        case .startFailed(let directory, let logTail):
            "the local PostgreSQL in \(directory) did not start; end of its log (\(directory)/server.log):\n\(logTail)"
        case .stopFailed(let directory, let pid):
            "the local PostgreSQL in \(directory) released its lock file but its process \(pid) was still running 10 s "
                + "later; look at \(directory)/server.log, and end it with `kill \(pid)` if it hangs"
        }
    }
}
