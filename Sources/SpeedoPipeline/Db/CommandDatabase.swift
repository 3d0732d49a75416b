import SpeedoRuntime
import SpeedoStore

/// How the short commands (`history`, `db …`) use PostgreSQL: each piece of work on a connection of its own, opened the
/// way an interactive command opens it (a server still starting is waited for briefly, with notes).
enum CommandDatabase {
    /// Runs `work` on a connection of its own, on a dedicated thread named `thread` (libpq blocks), then closes it.
    static func onConnection<Result: Sendable>(
        _ databaseURL: String, thread: String, notes: Notes,
        _ work: @escaping @Sendable (PostgresConnection) throws -> Result
    ) async throws -> Result {
        try await runOnDedicatedThread(name: thread) {
            let connection = try PostgresConnection.connect(databaseURL, retry: .command) { notes.note("speedo: \($0)") }
            defer { connection.close() }
            return try work(connection)
        }
    }
}
