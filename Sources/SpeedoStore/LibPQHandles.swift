import CLibPQ

/// Owns one `PGconn` (also a failed one: libpq allocates it either way) and frees it once.
final class ConnectionHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { PQfinish(pointer) }

    var isBad: Bool { PQstatus(pointer) == CONNECTION_BAD }

    /// libpq's last error for this connection, without the trailing newline.
    var errorMessage: String {
        guard let message = PQerrorMessage(pointer) else { return "" }
        return String(cString: message).trimmingTrailingNewlines()
    }

    /// The server as a person would name it: the socket file for unix sockets, host:port for TCP.
    /// Never derived from the connection string, so it cannot carry a password.
    var serverDescription: String {
        let host = PQhost(pointer).map { String(cString: $0) } ?? ""
        let port = PQport(pointer).map { String(cString: $0) } ?? ""
        let shownPort = port.isEmpty ? "5432" : port
        if host.isEmpty || host.hasPrefix("/") || host.hasPrefix("@") {
            return "\(host.isEmpty ? "/var/run/postgresql" : host)/.s.PGSQL.\(shownPort)"
        }
        return "\(host):\(shownPort)"
    }

    var user: String { PQuser(pointer).map { String(cString: $0) } ?? "" }
    var database: String { PQdb(pointer).map { String(cString: $0) } ?? "" }
}

/// Owns one `PGresult` and clears it once.
final class ResultHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { PQclear(pointer) }

    var status: ExecStatusType { PQresultStatus(pointer) }

    func field(_ code: UInt8) -> String? {
        PQresultErrorField(pointer, Int32(code)).map { String(cString: $0) }
    }

    var serverError: PostgresServerError {
        let fallback = PQresultErrorMessage(pointer).map { String(cString: $0) } ?? "unknown error"
        return PostgresServerError(
            sqlState: field(UInt8(ascii: "C")) ?? "",
            message: field(UInt8(ascii: "M")) ?? fallback.trimmingTrailingNewlines(),
            detail: field(UInt8(ascii: "D")),
            hint: field(UInt8(ascii: "H")))
    }

    /// The row count of INSERT/UPDATE/DELETE/COPY/SELECT…; 0 for commands that have none.
    var affectedRows: Int {
        PQcmdTuples(pointer).flatMap { Int(String(cString: $0)) } ?? 0
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isNewline || last == " " { text = text.dropLast() }
        return String(text)
    }
}
