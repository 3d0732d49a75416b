import Foundation
import SpeedoRuntime
package import SpeedoStore

/// A private PostgreSQL (`LocalPostgres`) in a temporary directory of its own, started by `start`; stopped, and its
/// directory removed, when the value is released (or earlier by `stop`).
package final class PrivatePostgres: Sendable {
    package let server: LocalPostgres
    /// The `speedo` database's URL.
    package let url: String
    private let directory: TemporaryDirectory

    /// `settings`: postgresql.conf settings, e.g. `fsync=off` for a throwaway cluster.
    package static func start(prefix: String, settings: [String: String]) async throws -> PrivatePostgres {
        let directory = try TemporaryDirectory(prefix: prefix)
        let server = try LocalPostgres(directory: directory.path + "/postgres", settings: settings)
        let url = try await runOnDedicatedThread { try server.start() }
        return PrivatePostgres(server: server, url: url, directory: directory)
    }

    private init(server: LocalPostgres, url: String, directory: TemporaryDirectory) {
        self.server = server
        self.url = url
        self.directory = directory
    }

    /// Stops the server, waiting until it is gone. Blocks.
    package func stop() throws {
        try server.stop()
    }

    deinit {
        try? server.stop()
    }
}

/// Opens a connection on a dedicated thread, runs `body` there and closes it.
@discardableResult
package func withConnection<Result: Sendable>(
    _ conninfo: String, _ body: @escaping @Sendable (PostgresConnection) throws -> Result
) async throws -> Result {
    try await runOnDedicatedThread {
        let connection = try PostgresConnection.connect(conninfo)
        defer { connection.close() }
        return try body(connection)
    }
}
