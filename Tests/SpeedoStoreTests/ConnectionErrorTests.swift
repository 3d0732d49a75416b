import Foundation
import SpeedoCore
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
import Testing

extension PostgresStoreTests {
    @Test("no server at the socket: unreachable, naming the socket and `speedo dev up`, retried first")
    func unreachable() async throws {
        let empty = try makeTemporaryDirectory(prefix: "speedo-nothing")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let retry = Backoff(initialDelay: .milliseconds(10), maximumDelay: .milliseconds(20), maximumAttempts: 3)
        let (error, notices) = try await runOnDedicatedThread {
            var notices: [String] = []
            let error = capturedError {
                _ = try PostgresConnection.connect("host=\(empty) port=5432 user=speedo dbname=speedo", retry: retry) {
                    notices.append($0.description)
                }
            }
            return (error as? PostgresError, notices)
        }
        let failure = try #require(error)
        #expect(failure.code == "postgres.unreachable")
        #expect(failure.description.contains("\(empty)/.s.PGSQL.5432"))
        #expect(failure.description.contains("speedo dev up"))
        #expect(notices.count == 2)
        #expect(notices.last?.contains("PostgreSQL at \(empty)/.s.PGSQL.5432 not ready") == true)
        #expect(notices.last?.contains("(attempt 3/3)") == true)
    }

    @Test("a missing database is named, with how to create it, and not retried")
    func databaseMissing() async throws {
        let cluster = try ClusterFixture.cluster
        let url = cluster.connectionURL(database: "nope")
        let error = try await runOnDedicatedThread {
            capturedError { _ = try PostgresConnection.connect(url) { _ in Issue.record("must not retry") } }
                as? PostgresError
        }
        let failure = try #require(error)
        #expect(failure == .databaseMissing(server: cluster.socketDirectory + "/.s.PGSQL.5432", database: "nope"))
        #expect(failure.code == "postgres.database-missing")
        #expect(failure.description.contains("\"nope\"") && failure.description.contains("createdb nope"))
    }

    @Test("a wrong password is an authentication failure naming the user, never showing the password")
    func authenticationFailed() async throws {
        let cluster = try ClusterFixture.cluster
        let hba = cluster.dataDirectory + "/pg_hba.conf"
        let rules = try String(contentsOfFile: hba, encoding: .utf8)
        try ("local all pw_user scram-sha-256\n" + rules).write(toFile: hba, atomically: false, encoding: .utf8)
        try await withConnection(cluster.connectionURL) { connection in
            try connection.execute("CREATE ROLE pw_user LOGIN PASSWORD 'right-horse'")
            try connection.execute("SELECT pg_reload_conf()")
        }
        let socket = cluster.socketDirectory
        let port = cluster.port
        let url = { @Sendable (password: String) in
            "postgresql://pw_user:\(password)@/speedo?host=\(socket)&port=\(port)"
        }
        let error = try await runOnDedicatedThread { () -> PostgresError? in
            // The reload is asynchronous: until it lands, trust still admits everyone.
            for _ in 0..<100 {
                do {
                    try PostgresConnection.connect(url("wrong-battery"), retry: nil).close()
                    Thread.sleep(forTimeInterval: 0.02)
                } catch {
                    return error as? PostgresError
                }
            }
            return nil
        }
        let failure = try #require(error)
        #expect(failure.code == "postgres.authentication-failed")
        #expect(failure.description.contains("\"pw_user\""))
        #expect(failure.description.contains("pg_hba.conf"))
        #expect(!failure.description.contains("wrong-battery"))
        let user = try await withConnection(url("right-horse")) {
            try $0.query("SELECT current_user AS me").first?["me"]
        }
        #expect(user == "pw_user")
    }

    @Test("malformed connection strings are rejected before any attempt, password redacted")
    func invalidConnectionString() async throws {
        let error = try await runOnDedicatedThread {
            capturedError { _ = try PostgresConnection.connect("postgresql://u:hunter2@host/db?bogus_option=1") }
                as? PostgresError
        }
        let failure = try #require(error)
        #expect(failure.code == "postgres.invalid-connection-string")
        #expect(!failure.description.contains("hunter2"))
    }
}

@Suite("Connection strings")
struct ConnectionStringTests {
    @Test("passwords are redacted from URLs and keyword lists", arguments: [
        ("postgresql://alice:s3cret@db.example:5432/speedo", "postgresql://alice:***@db.example:5432/speedo"),
        ("postgres://alice@db/speedo?password=s3cret&sslmode=require", "postgres://alice@db/speedo?password=***&sslmode=require"),
        ("host=db user=alice password=s3cret dbname=speedo", "host=db user=alice password=*** dbname=speedo"),
        ("host=db password = 'it\\'s s3cret' dbname=x", "host=db password = *** dbname=x"),
        ("host=/tmp/socket dbname=speedo", "host=/tmp/socket dbname=speedo"),
    ])
    func redaction(input: String, expected: String) {
        #expect(ConnectionString.redacting(input) == expected)
    }
}

extension PostgresStoreTests {
    @Test("a full connection limit is retried, and connecting succeeds once a slot frees up")
    func tooManyConnectionsIsRetried() async throws {
        let cluster = try ClusterFixture.cluster
        try await withConnection(cluster.connectionURL) {
            try $0.execute("CREATE ROLE limited_user LOGIN CONNECTION LIMIT 1")
        }
        let url = "postgresql:///speedo?host=\(cluster.socketDirectory)&port=\(cluster.port)&user=limited_user"
        let retry = Backoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(400), maximumAttempts: 20)
        let slotTaken = DispatchSemaphore(value: 0)
        let retryNoticed = DispatchSemaphore(value: 0)
        // One thread holds the only slot until the other, connecting with retries, has been refused once (a fixed
        // hold could end before a busy machine gets the other thread to try).
        async let holding: Void = runOnDedicatedThread {
            let holder = try PostgresConnection.connect(url)
            slotTaken.signal()
            _ = retryNoticed.wait(timeout: .now() + 60)
            holder.close()
        }
        let (refused, notices, user) = try await runOnDedicatedThread { () -> (PostgresError?, [String], String?) in
            guard slotTaken.wait(timeout: .now() + 60) == .success else { return (nil, [], nil) }
            let refused = capturedError { _ = try PostgresConnection.connect(url, retry: nil) } as? PostgresError
            var notices: [String] = []
            let connection = try PostgresConnection.connect(url, retry: retry) {
                notices.append($0.description)
                retryNoticed.signal()
            }
            defer { connection.close() }
            return (refused, notices, try connection.query("SELECT current_user AS me").first?["me"])
        }
        try await holding
        #expect(refused?.code == "postgres.too-many-connections")
        #expect(refused?.isTransient == true)
        #expect(!notices.isEmpty)
        #expect(notices.first?.contains("not ready (too many connections)") == true)
        #expect(user == "limited_user")
    }
}

@Suite("Connection failure texts")
struct ConnectionFailureTests {
    static let server = "/s/.s.PGSQL.5432"

    @Test("libpq's and the server's texts map to their classes", arguments: [
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?",
         "postgres.unreachable"),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
         "postgres.unreachable"),
        ("could not translate host name \"nowhere\" to address: Name or service not known", "postgres.unreachable"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  the database system is starting up",
         "postgres.starting-up"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  sorry, too many clients already",
         "postgres.too-many-connections"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  password authentication failed for user \"u\"",
         "postgres.authentication-failed"),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.2\", user \"u\", database \"d\", no encryption",
         "postgres.authentication-failed"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: fe_sendauth: no password supplied",
         "postgres.authentication-failed"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  database \"d\" does not exist",
         "postgres.database-missing"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  role \"u\" does not exist",
         "postgres.authentication-failed"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: FATAL:  too many connections for role \"u\"",
         "postgres.too-many-connections"),
        ("connection to server on socket \"/s/.s.PGSQL.5432\" failed: server closed the connection unexpectedly",
         "postgres.connection-lost"),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: SSL error: certificate verify failed",
         "postgres.connection-failed"),
    ])
    func classification(message: String, code: String) {
        let error = ConnectionFailure.classify(message, server: Self.server, user: "u", database: "d")
        #expect(error.code == code)
        #expect(error.description.contains(Self.server))
    }

    @Test("the unreachable reason is short and lower-case, for retry notices")
    func unreachableReason() {
        let error = ConnectionFailure.classify(
            "connection to server at \"db\" (10.0.0.1), port 5432 failed: Connection refused\n\tIs the server running…",
            server: "db:5432", user: "u", database: "d")
        let notice = PostgresRetryNotice(error: error, nextAttempt: 3, maximumAttempts: 10, delay: .milliseconds(800))
        #expect(notice.description
            == "PostgreSQL at db:5432 not ready (connection refused); retrying in 0.8 s (attempt 3/10)")
    }
}
