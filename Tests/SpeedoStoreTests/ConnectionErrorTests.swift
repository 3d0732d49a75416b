import Foundation
import SpeedoCore
import SpeedoStore
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
