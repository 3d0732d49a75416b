import SpeedoCore

/// What the server said about a failed statement.
package struct PostgresServerError: Sendable, Equatable {
    /// Five-character SQLSTATE, e.g. `23505`; empty when the failure happened on the client side.
    package var sqlState: String
    package var message: String
    package var detail: String?
    package var hint: String?
}

/// Every way talking to PostgreSQL can fail, each with a stable `code` and a message that says
/// what failed, why, and what to do. Messages never contain a password: they name the server by
/// socket path or host:port, never by the connection string the user typed.
package enum PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Nothing listens at the socket or host (server not started, wrong host or port).
    case unreachable(server: String, reason: String)
    /// The server is up but still recovering or starting (SQLSTATE 57P03).
    case startingUp(server: String)
    /// max_connections reached (SQLSTATE 53300).
    case tooManyConnections(server: String)
    /// Wrong password, no password, or pg_hba.conf rejects this user (SQLSTATE 28P01 / 28000).
    case authenticationFailed(server: String, user: String, reason: String)
    /// The server runs but has no such database (SQLSTATE 3D000).
    case databaseMissing(server: String, database: String)
    /// The connection string or URL itself cannot be parsed.
    case invalidConnectionString(reason: String)
    /// A connection failure none of the cases above explains.
    case connectionFailed(server: String, reason: String)
    /// The server answered a statement with an error.
    case queryFailed(PostgresServerError, statement: String)
    /// The connection broke while a statement was running (server restart, network): retriable
    /// after reconnecting, provided the work is idempotent or was in a rolled-back transaction.
    case connectionLost(server: String, reason: String)
    /// A method was called after `close()`.
    case closed
    /// A value could not be read as the type asked for.
    case decodingFailed(column: String, value: String, type: String)
    /// The database holds schema migrations newer than this binary knows.
    case schemaTooNew(databaseVersion: Int, knownVersion: Int)
    /// The database keeps no rollups, and they cannot be made: PostgreSQL has no tdigest extension, or speedo may not
    /// create it.
    case noRollups

    package var code: String {
        switch self {
        case .unreachable: "postgres.unreachable"
        case .startingUp: "postgres.starting-up"
        case .tooManyConnections: "postgres.too-many-connections"
        case .authenticationFailed: "postgres.authentication-failed"
        case .databaseMissing: "postgres.database-missing"
        case .invalidConnectionString: "postgres.invalid-connection-string"
        case .connectionFailed: "postgres.connection-failed"
        case .queryFailed: "postgres.query-failed"
        case .connectionLost: "postgres.connection-lost"
        case .closed: "postgres.closed"
        case .decodingFailed: "postgres.decoding-failed"
        case .schemaTooNew: "postgres.schema-too-new"
        case .noRollups: "postgres.no-rollups"
        }
    }

    /// True when trying again later may succeed without anyone changing anything.
    package var isTransient: Bool {
        switch self {
        case .unreachable, .startingUp, .tooManyConnections, .connectionLost: true
        case .queryFailed(let error, _): Self.transientSQLStates.contains(error.sqlState)
            || error.sqlState.hasPrefix("08")
        default: false
        }
    }

    /// Short reason used in retry notices ("connection refused").
    package var shortReason: String {
        switch self {
        case .unreachable(_, let reason), .connectionFailed(_, let reason), .connectionLost(_, let reason):
            reason
        case .startingUp: "the database system is starting up"
        case .tooManyConnections: "too many connections"
        default: description
        }
    }

    // 40001 serialization failure, 40P01 deadlock, 57P01..57P03 shutdown/crash/startup, 53300.
    private static let transientSQLStates: Set<String> = ["40001", "40P01", "57P01", "57P02", "57P03", "53300"]

    package var description: String {
        switch self {
        case .unreachable(let server, let reason):
            "cannot reach PostgreSQL at \(server): \(reason); is it running? "
                + "(`speedo dev up` starts a local one; otherwise check --database-url / SPEEDO_DATABASE_URL)"
        case .startingUp(let server):
            "PostgreSQL at \(server) is still starting up; wait a moment and try again"
        case .tooManyConnections(let server):
            "PostgreSQL at \(server) has no free connection slots (max_connections reached); "
                + "close idle clients or raise max_connections"
        case .authenticationFailed(let server, let user, let reason):
            "PostgreSQL at \(server) rejected user \"\(user)\": \(reason); check the password "
                + "(in the URL, PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf rules for this user"
        case .databaseMissing(let server, let database):
            "PostgreSQL at \(server) has no database \"\(database)\"; create it with "
                + "`createdb \(database)` (or `CREATE DATABASE \"\(database)\"`), or pick another one in the URL"
        case .invalidConnectionString(let reason):
            "invalid PostgreSQL connection string: \(reason); expected `postgresql://user@host:port/db` "
                + "or `host=… port=… dbname=…`"
        case .connectionFailed(let server, let reason):
            "cannot connect to PostgreSQL at \(server): \(reason)"
        case .queryFailed(let error, let statement):
            Self.describe(error, statement: statement)
        case .connectionLost(let server, let reason):
            "lost the connection to PostgreSQL at \(server): \(reason); the statement did not complete "
                + "(safe to retry after reconnecting)"
        case .closed:
            "the PostgreSQL connection was already closed; open a new one"
        case .decodingFailed(let column, let value, let type):
            "column \"\(column)\" holds \"\(value.prefix(64))\", which is not a valid \(type)"
        case .schemaTooNew(let databaseVersion, let knownVersion):
            "the database schema is at version \(databaseVersion) but this speedo only knows up to "
                + "version \(knownVersion); upgrade speedo (refusing to write to a schema it does not understand)"
        case .noRollups:
            "this database keeps no rollups and speedo cannot make them: PostgreSQL needs the tdigest extension "
                + "(Debian: apt install postgresql-15-tdigest), which a superuser may have to create "
                + "(CREATE EXTENSION tdigest); then run this again"
        }
    }

    private static func describe(_ error: PostgresServerError, statement: String) -> String {
        var text = "PostgreSQL rejected a statement"
        if !error.sqlState.isEmpty { text += " (SQLSTATE \(error.sqlState))" }
        text += ": \(error.message)"
        if let detail = error.detail { text += "; detail: \(detail)" }
        if let hint = error.hint { text += "; hint: \(hint)" }
        let firstLine = statement.split(separator: "\n", omittingEmptySubsequences: true).first ?? ""
        text += "; statement: \(firstLine.prefix(120))"
        return text
    }
}
