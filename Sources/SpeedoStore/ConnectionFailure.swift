import CLibPQ
import Foundation
import SpeedoCore

/// libpq reports a failed connection only as text (the server's SQLSTATE is not exposed before a
/// connection exists), so connection failures are classified by the stable English texts of
/// libpq and of the server. The SQLSTATE each text stands for is noted beside it. Our own clusters
/// run with `lc_messages=C`, so their texts are always English.
package enum ConnectionFailure {
    package static func classify(_ message: String, server: String, user: String, database: String) -> PostgresError {
        let lowered = message.lowercased()
        func mentions(_ fragments: String...) -> Bool { fragments.contains { lowered.contains($0) } }

        // Order matters: "too many connections for role" and "database … does not exist" must not
        // pass for the authentication failure "role … does not exist".
        if mentions("the database system is starting up", "the database system is not yet accepting",
                    "the database system is in recovery mode", "the database system is shutting down")
        { // 57P03
            return .startingUp(server: server)
        }
        if mentions("too many clients", "too many connections", "remaining connection slots are reserved") { // 53300
            return .tooManyConnections(server: server)
        }
        if mentions("database \"") && mentions("does not exist") { // 3D000
            return .databaseMissing(server: server, database: database)
        }
        if mentions("password authentication failed", "no password supplied", "pg_hba.conf",
                    "authentication failed", "peer authentication")
            || (mentions("role \"") && mentions("does not exist"))
        { // 28P01, 28000
            return .authenticationFailed(server: server, user: user, reason: serverText(message))
        }
        if mentions("connection refused", "no such file or directory", "could not translate host name",
                    "timeout expired", "network is unreachable", "no route to host",
                    "could not connect to server", "name or service not known")
        {
            return .unreachable(server: server, reason: socketReason(message))
        }
        if mentions("server closed the connection unexpectedly", "terminating connection") {
            return .connectionLost(server: server, reason: serverText(message))
        }
        return .connectionFailed(server: server, reason: serverText(message))
    }

    /// "connection to server on socket "…" failed: Connection refused\n\tIs the server…" →
    /// "connection refused". The server name is already in the message we build around it.
    private static func socketReason(_ message: String) -> String {
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        let reason: Substring
        if let range = firstLine.range(of: "failed: ") {
            reason = firstLine[range.upperBound...]
        } else {
            reason = Substring(firstLine)
        }
        let text = reason.trimmingPrefix(" ")
        if text.lowercased() == "no such file or directory" { return "no server socket there (no such file)" }
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// The server's own words, without libpq's "connection to server … failed: FATAL:  " prefix.
    private static func serverText(_ message: String) -> String {
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        for marker in ["FATAL:  ", "ERROR:  ", "failed: "] {
            if let range = firstLine.range(of: marker) {
                return String(firstLine[range.upperBound...])
            }
        }
        return firstLine
    }

    /// Parses (without connecting) to reject malformed strings before retrying them in vain.
    static func validate(_ conninfo: String) throws(PostgresError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0).trimmingTrailingNewlines() } ?? "out of memory"
            PQfreemem(errorMessage)
            throw .invalidConnectionString(reason: ConnectionString.redacting(reason))
        }
        PQconninfoFree(options)
    }
}
