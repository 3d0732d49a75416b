import CLibPQ
import Foundation

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

/// Connection strings as users write them: URLs or `key=value` lists.
package enum ConnectionString {
    /// The text with every password replaced by `***`: the user-info password of URLs
    /// (`postgresql://u:secret@h/db`), `password=` query parameters and `password=` keywords.
    package static func redacting(_ text: String) -> String {
        var result = redactURLPasswords(text)
        result = redactKeyword(result)
        return result
    }

    private static func redactURLPasswords(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            output += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == " " } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                output += authority[...colon] + "***" + authority[at...]
            } else {
                output += authority
            }
            rest = rest[authorityEnd...]
        }
        return output + rest
    }

    /// `password=secret`, `password = 'se cret'`, `?password=secret&…`.
    private static func redactKeyword(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let keyword = rest.range(of: "password") {
            output += rest[..<keyword.upperBound]
            rest = rest[keyword.upperBound...]
            let spaces = rest.prefix { $0 == " " }
            guard rest.dropFirst(spaces.count).first == "=" else { continue }
            rest = rest.dropFirst(spaces.count + 1)
            let leading = rest.prefix { $0 == " " }
            rest = rest.dropFirst(leading.count)
            output += spaces + "=" + leading + "***"
            if rest.first == "'" {
                var index = rest.index(after: rest.startIndex)
                while index < rest.endIndex {
                    if rest[index] == "\\" {
                        index = rest.index(index, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex
                        continue
                    }
                    if rest[index] == "'" { index = rest.index(after: index); break }
                    index = rest.index(after: index)
                }
                rest = rest[index...]
            } else {
                rest = rest.drop { $0 != " " && $0 != "&" }
            }
        }
        return output + rest
    }
}
