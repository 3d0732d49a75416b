import Foundation
import SpeedoStore
import SpeedoTestSupport
import Testing

/// Everything that needs a running server shares one private cluster; each test that writes gets
/// its own database, so the tests run in parallel.
@Suite("PostgreSQL store", .privateCluster)
struct PostgresStoreTests {
    @Test("connects and reads typed values")
    func connectAndQuery() async throws {
        let url = try ClusterFixture.cluster.connectionURL
        let (version, rows) = try await withConnection(url) { connection in
            (connection.serverVersion,
             try connection.query("SELECT $1::int + 1 AS n, 2.5::float8 AS x, true AS b, NULL::text AS z, $2 AS s",
                                  ["41", "héllo"]))
        }
        #expect(version >= 13_00_00)
        #expect(rows.columns == ["n", "x", "b", "z", "s"])
        let row = try #require(rows.first)
        #expect(try row.int("n") == 42)
        #expect(try row.double("x") == 2.5)
        #expect(try row.bool("b") == true)
        #expect(row["z"] == nil)
        #expect(row.string("s") == "héllo")
        #expect(throws: PostgresError.decodingFailed(column: "s", value: "héllo", type: "integer")) {
            try row.int("s")
        }
    }

    @Test("parameters that look like SQL injection are stored as plain values")
    func injectionLookingParameters() async throws {
        let url = try await makeDatabase(migrated: true)
        let hostile = "'; drop table speed_readings; --"
        let stored = try await withConnection(url) { connection in
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: 1_700_000_000),
                                            to: Date(timeIntervalSince1970: 1_700_000_000))
            try connection.query("INSERT INTO speed_readings (sensor_id, ts, speed) VALUES ($1, to_timestamp($2), $3)",
                                 [hostile, "1700000000", "42.5"])
            return try connection.query("SELECT sensor_id, speed FROM speed_readings")
        }
        #expect(stored.count == 1)
        #expect(stored.first?["sensor_id"] == hostile)
        #expect(try stored.first?.double("speed") == 42.5)
    }

    @Test("COPY stores 10,000 rows in text format and rejects a bad batch whole")
    func copyTextRows() async throws {
        let url = try await makeDatabase(migrated: true)
        let start = 1_700_000_000
        var data = ""
        for index in 0..<10_000 {
            data += "sensor-\(index % 7)\t\(start + index)\t\(Double(index % 300) / 2)\n"
        }
        let payload = data
        let (copied, count, badBatch) = try await withConnection(url) { connection in
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: Double(start)),
                                            to: Date(timeIntervalSince1970: Double(start + 10_000)))
            try connection.execute("SET TIME ZONE 'UTC'")
            // COPY's timestamptz input does not take epochs: go through a staging table.
            try connection.execute("CREATE TEMP TABLE staging (sensor_id text, epoch bigint, speed float8)")
            let copied = try connection.copy(into: "staging", columns: ["sensor_id", "epoch", "speed"],
                                             data: Array(payload.utf8))
            try connection.execute("""
                INSERT INTO speed_readings SELECT sensor_id, to_timestamp(epoch), speed FROM staging
                """)
            let count = try connection.query("SELECT count(*) AS n FROM speed_readings").first?.int("n")
            let badBatch = capturedError {
                try connection.copy(into: "staging", columns: ["sensor_id", "epoch", "speed"],
                                    data: Array("ok\t1\t2\nbad\tnot-a-number\t3\n".utf8))
            }
            let staged = try connection.query("SELECT count(*) AS n FROM staging").first?.int("n")
            #expect(staged == 10_000, "a failed COPY stores nothing")
            return (copied, count, badBatch)
        }
        #expect(copied == 10_000)
        #expect(count == 10_000)
        let error = try #require(badBatch as? PostgresError)
        guard case .queryFailed(let failure, _) = error else {
            Issue.record("expected a query failure, got \(error)")
            return
        }
        #expect(failure.sqlState == "22P02")
        #expect(error.code == "postgres.query-failed")
        #expect(error.description.contains("not-a-number"))
    }

    @Test("COPY in CSV format reads quoted fields")
    func copyCSV() async throws {
        let url = try await makeDatabase(migrated: true)
        let csv = "\"sensor,1\",2026-03-01T10:00:00Z,10.5\nsensor-2,2026-03-01T10:00:01Z,11\n"
        let rows = try await withConnection(url) { connection in
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: 1_772_359_200),
                                            to: Date(timeIntervalSince1970: 1_772_359_200))
            let copied = try connection.copy(into: "speed_readings", columns: ["sensor_id", "ts", "speed"],
                                             format: .csv, data: Array(csv.utf8))
            #expect(copied == 2)
            return try connection.query("SELECT sensor_id FROM speed_readings ORDER BY sensor_id")
        }
        #expect(rows.map { $0["sensor_id"] } == ["sensor,1", "sensor-2"])
    }

    @Test("transaction commits on success and rolls back when the body throws")
    func transactionRollsBack() async throws {
        let url = try await makeDatabase(migrated: false)
        struct Abort: Error {}
        let names = try await withConnection(url) { connection in
            try connection.execute("CREATE TABLE t (name text)")
            try connection.transaction { try connection.execute("INSERT INTO t VALUES ('kept')") }
            #expect(throws: Abort.self) {
                try connection.transaction {
                    try connection.execute("INSERT INTO t VALUES ('dropped')")
                    throw Abort()
                }
            }
            return try connection.query("SELECT name FROM t").map { $0["name"] }
        }
        #expect(names == ["kept"])
    }

    @Test("a failed statement reports SQLSTATE and the server's message; the connection stays usable")
    func queryFailure() async throws {
        let url = try ClusterFixture.cluster.connectionURL
        let (error, afterwards) = try await withConnection(url) { connection in
            (capturedError { try connection.query("SELECT * FROM no_such_table") },
             try connection.query("SELECT 1 AS one").first?.int("one"))
        }
        guard case .queryFailed(let failure, _) = try #require(error as? PostgresError) else {
            Issue.record("expected a query failure, got \(String(describing: error))")
            return
        }
        #expect(failure.sqlState == "42P01")
        #expect(failure.message.contains("no_such_table"))
        #expect(afterwards == 1)
    }

    @Test("a backend killed mid-session is reported as a lost, retriable connection")
    func connectionLost() async throws {
        let url = try ClusterFixture.cluster.connectionURL
        let error = try await withConnection(url) { victim in
            let pid = try victim.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
            let killer = try PostgresConnection.connect(url)
            defer { killer.close() }
            try killer.query("SELECT pg_terminate_backend($1)", [String(try #require(pid))])
            return capturedError { try victim.query("SELECT 1") } as? PostgresError
        }
        let lost = try #require(error)
        #expect(lost.code == "postgres.connection-lost")
        #expect(lost.isTransient)
    }
}
