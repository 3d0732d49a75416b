import CLibPQ
import Foundation
package import SpeedoCore
import SpeedoRuntime

/// A synchronous connection to PostgreSQL.
///
/// Every method that talks to the server BLOCKS the calling thread (libpq's synchronous API), so
/// call them from a dedicated thread (see `runOnDedicatedThread`), never from the Swift concurrency
/// pool. The type is deliberately not `Sendable`: libpq lets a connection move between threads but
/// never be used by two at once, so create it on the thread that uses it.
package final class PostgresConnection {
    private var handle: ConnectionHandle?
    /// The server as shown in messages: socket path or host:port (never a password).
    package let server: String

    private init(handle: ConnectionHandle) {
        self.handle = handle
        self.server = handle.serverDescription
    }

    /// Connects, retrying transient failures (no server yet, starting up, too many connections)
    /// according to `retry`; `nil` tries once. Blocks, sleeping between attempts.
    ///
    /// - Parameters:
    ///   - conninfo: a `postgresql://` URL or `key=value` list; empty means libpq's `PG*`
    ///     environment variables and defaults.
    ///   - onRetry: told before each wait, e.g. to print `notice.description`.
    package static func connect(
        _ conninfo: String,
        retry: Backoff? = .startup,
        onRetry: (PostgresRetryNotice) -> Void = { _ in }
    ) throws(PostgresError) -> PostgresConnection {
        try ConnectionFailure.validate(conninfo)
        let clock = ContinuousClock()
        let started = clock.now
        var failedAttempts = 0
        while true {
            do {
                return try connectOnce(conninfo)
            } catch {
                failedAttempts += 1
                guard error.isTransient, let retry,
                    let delay = retry.delay(afterFailedAttempts: failedAttempts, elapsed: clock.now - started)
                else { throw error }
                onRetry(PostgresRetryNotice(
                    error: error, nextAttempt: failedAttempts + 1, maximumAttempts: retry.maximumAttempts,
                    delay: delay))
                Thread.sleep(forTimeInterval: delay.inSeconds)
            }
        }
    }

    private static func connectOnce(_ conninfo: String) throws(PostgresError) -> PostgresConnection {
        guard let pointer = PQconnectdb(conninfo) else {
            throw .connectionFailed(server: "?", reason: "libpq could not allocate a connection (out of memory)")
        }
        let handle = ConnectionHandle(pointer)
        guard !handle.isBad else {
            throw ConnectionFailure.classify(
                handle.errorMessage, server: handle.serverDescription, user: handle.user,
                database: handle.database)
        }
        PQsetNoticeReceiver(pointer, forwardWarnings, nil)
        return PostgresConnection(handle: handle)
    }

    /// e.g. 150004 for 15.4.
    package var serverVersion: Int {
        handle.map { Int(PQserverVersion($0.pointer)) } ?? 0
    }

    package var user: String { handle?.user ?? "" }
    package var database: String { handle?.database ?? "" }

    /// Frees the connection now rather than when the last reference goes. Idempotent.
    package func close() {
        handle = nil
    }

    /// Runs one or more statements without parameters (migrations, DDL, BEGIN/COMMIT); returns the
    /// row count the last one reports (0 when it has none). Blocks.
    @discardableResult
    package func execute(_ sql: String) throws(PostgresError) -> Int {
        let connection = try open()
        let result = try check(PQexec(connection.pointer, sql), statement: sql, on: connection)
        return result.affectedRows
    }

    /// Runs several statements without parameters in one round trip (the simple query protocol) and returns the
    /// rows of the last one. Blocks.
    package func queryLast(of statements: String) throws(PostgresError) -> PostgresRows {
        let connection = try open()
        return PostgresRows(try check(PQexec(connection.pointer, statements), statement: statements, on: connection))
    }

    /// Runs one statement with `$1, $2, …` parameters sent apart from the SQL text (never spliced
    /// into it), `nil` meaning NULL; all values travel as text. Blocks.
    @discardableResult
    package func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        PostgresRows(try execute(sql, parameters, binaryResults: false))
    }

    /// `query`, with the results in PostgreSQL's binary format, read in place (for large results: nothing is
    /// formatted by the server or parsed here). Parameters still travel as text. Blocks.
    func queryBinary(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> BinaryRows {
        BinaryRows(try execute(sql, parameters, binaryResults: true))
    }

    /// `queryBinary`, with each row handed to `body` as it arrives (libpq's single-row mode) instead of the whole
    /// result held at once: for rows so large (arrays of a bucket's readings) that a long range of them would not
    /// fit in memory. `body` sees a one-row `BinaryRows`, valid only during the call. Blocks.
    func forEachBinaryRow(
        _ sql: String, _ parameters: [String?] = [], _ body: (BinaryRows) throws(PostgresError) -> Void
    ) throws(PostgresError) {
        let connection = try open()
        let sent = withParameterValues(parameters) { values in
            PQsendQueryParams(connection.pointer, sql, Int32(values.count), nil, values, nil, nil, 1)
        }
        guard sent == 1 else { throw .connectionLost(server: server, reason: connection.errorMessage) }
        PQsetSingleRowMode(connection.pointer)
        // libpq needs draining until it returns NULL, also after an error or when `body` throws.
        defer { while let rest = PQgetResult(connection.pointer) { PQclear(rest) } }
        while let raw = PQgetResult(connection.pointer) {
            let result = try check(raw, statement: sql, on: connection)
            if result.status == PGRES_SINGLE_TUPLE { try body(BinaryRows(result)) }
        }
    }

    private func execute(_ sql: String, _ parameters: [String?], binaryResults: Bool) throws(PostgresError) -> ResultHandle {
        let connection = try open()
        let raw = withParameterValues(parameters) { values in
            PQexecParams(connection.pointer, sql, Int32(values.count), nil, values, nil, nil, binaryResults ? 1 : 0)
        }
        return try check(raw, statement: sql, on: connection)
    }

    /// The parameters as the C strings libpq reads (nil = NULL), alive during `body`.
    private func withParameterValues<Result>(
        _ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result
    ) -> Result {
        let cStrings = parameters.map { $0.map { strdup($0)! } }
        defer { cStrings.forEach { free($0) } }
        return body(cStrings.map { $0.map { UnsafePointer($0) } })
    }

    /// Runs `body` between BEGIN and COMMIT; any error thrown (by `body` or by COMMIT) rolls back
    /// and is rethrown. Not reentrant: PostgreSQL has no nested BEGIN. Blocks.
    @discardableResult
    package func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try execute("BEGIN")
        let result: Result
        do {
            result = try body()
        } catch {
            // A lost connection rolls back by itself; the original error is the one worth reporting.
            _ = try? execute("ROLLBACK")
            throw error
        }
        try execute("COMMIT")
        return result
    }

    /// `COPY table (columns) FROM STDIN` with `data` holding whole rows in `format`; returns the
    /// number of rows the server stored. The rows go in one statement: all or none. Blocks.
    @discardableResult
    package func copy(
        into table: String, columns: [String], format: CopyFormat = .text, data: some Collection<UInt8>
    ) throws(PostgresError) -> Int {
        let connection = try open()
        let columnList = columns.map(quoteIdentifier).joined(separator: ", ")
        let statement = "COPY \(quoteIdentifier(table)) (\(columnList)) FROM STDIN WITH (FORMAT \(format.rawValue))"
        _ = try check(PQexec(connection.pointer, statement), statement: statement, on: connection, expecting: PGRES_COPY_IN)
        let bytes = Array(data)
        // One call per megabyte keeps each `Int32` length small; libpq buffers and flushes.
        let chunkSize = 1 << 20
        var offset = 0
        var sendFailure: String?
        bytes.withUnsafeBufferPointer { buffer in
            while offset < buffer.count, sendFailure == nil {
                let count = min(chunkSize, buffer.count - offset)
                let sent = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: count) {
                    PQputCopyData(connection.pointer, $0, Int32(count))
                }
                if sent != 1 { sendFailure = connection.errorMessage }
                offset += count
            }
        }
        if let sendFailure {
            throw .connectionLost(server: server, reason: sendFailure)
        }
        guard PQputCopyEnd(connection.pointer, nil) == 1 else {
            throw .connectionLost(server: server, reason: connection.errorMessage)
        }
        // The final status comes first; libpq then needs draining until it returns NULL.
        let outcome = Result<ResultHandle, PostgresError> { () throws(PostgresError) -> ResultHandle in
            try check(PQgetResult(connection.pointer), statement: statement, on: connection)
        }
        while let extra = PQgetResult(connection.pointer) { PQclear(extra) }
        return try outcome.get().affectedRows
    }

    private func open() throws(PostgresError) -> ConnectionHandle {
        guard let handle else { throw .closed }
        return handle
    }

    /// Wraps `raw` so it is freed, and turns failures into classified errors.
    private func check(
        _ raw: OpaquePointer?, statement: String, on connection: ConnectionHandle,
        expecting expected: ExecStatusType? = nil
    ) throws(PostgresError) -> ResultHandle {
        guard let raw else {
            if connection.isBad || Self.meansConnectionLost(connection.errorMessage) {
                throw .connectionLost(server: server, reason: connection.errorMessage)
            }
            throw .queryFailed(
                PostgresServerError(sqlState: "", message: connection.errorMessage), statement: statement)
        }
        let result = ResultHandle(raw)
        let status = result.status
        let succeeded = expected.map { status == $0 }
            ?? [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_EMPTY_QUERY].contains(status)
        if succeeded { return result }
        let error = result.serverError
        if connection.isBad || (error.sqlState.isEmpty && Self.meansConnectionLost(error.message)) {
            let reason = error.message.isEmpty ? connection.errorMessage : error.message
            throw .connectionLost(server: server, reason: reason)
        }
        throw .queryFailed(error, statement: statement)
    }

    /// libpq's own words for a connection that broke under a statement. After a server crash or an immediate
    /// restart, libpq can report the broken socket on the result while the connection still counts as good: without
    /// this, the statement would look rejected by the server and not be retried.
    private static func meansConnectionLost(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return ["server closed the connection unexpectedly", "could not send data to server",
                "could not receive data from server", "no connection to the server", "connection not open",
                "ssl syscall error", "terminating connection"].contains { lowered.contains($0) }
    }
}

/// Formats accepted by `PostgresConnection.copy`.
package enum CopyFormat: String, Sendable {
    /// Tab-separated, `\N` for NULL, backslash escapes.
    case text
    /// Comma-separated, empty unquoted field for NULL, double-quote quoting.
    case csv
    /// PostgreSQL's own binary layout (signature, header, length-prefixed fields, trailer): nothing to escape or
    /// parse, values arrive in their stored form.
    case binary
}

/// What `PostgresConnection.connect` reports before waiting to retry.
package struct PostgresRetryNotice: Sendable, CustomStringConvertible {
    package var error: PostgresError
    /// The attempt about to be made, counting from 1.
    package var nextAttempt: Int
    package var maximumAttempts: Int?
    package var delay: Duration

    package init(error: PostgresError, nextAttempt: Int, maximumAttempts: Int?, delay: Duration) {
        (self.error, self.nextAttempt, self.maximumAttempts, self.delay) = (error, nextAttempt, maximumAttempts, delay)
    }

    package var description: String {
        let server = switch error {
        case .unreachable(let server, _), .startingUp(let server), .tooManyConnections(let server),
            .connectionLost(let server, _), .connectionFailed(let server, _):
            server
        default: "?"
        }
        let attempt = maximumAttempts.map { "\(nextAttempt)/\($0)" } ?? "\(nextAttempt)"
        return "PostgreSQL at \(server) not ready (\(error.shortReason)); "
            + "retrying in \(String(format: "%.1f", delay.inSeconds)) s (attempt \(attempt))"
    }
}

/// `"` doubling, as PostgreSQL reads identifiers.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Server notices (e.g. "relation already exists, skipping") are routine; warnings and above are
/// worth a line on stderr.
private func forwardWarnings(_: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let result else { return }
    let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))).map { String(cString: $0) } ?? ""
    guard !["DEBUG", "LOG", "INFO", "NOTICE"].contains(severity),
        let message = PQresultErrorMessage(result)
    else { return }
    MessageLog.write(
        "speedo: postgres: " + String(cString: message).trimmingTrailingNewlines(), level: .warning,
        fields: ["source": "postgresql", "severity": severity])
}
