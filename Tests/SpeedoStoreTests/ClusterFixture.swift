import Foundation
import SpeedoRuntime
import SpeedoStore
import Testing

/// Starts one private PostgreSQL (fsync off) for the suite it is attached to, and stops it and
/// deletes its directory when the suite ends. Tests reach it through `ClusterFixture.current`.
struct ClusterFixture: SuiteTrait, TestScoping {
    @TaskLocal static var current: LocalPostgres?

    static var cluster: LocalPostgres {
        get throws { try #require(current, "the suite needs the .privateCluster trait") }
    }

    static let testSettings = ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory(prefix: "speedo-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try LocalPostgres(directory: directory + "/cluster", settings: Self.testSettings)
        try await runOnDedicatedThread { try cluster.start() }
        do {
            try await Self.$current.withValue(cluster, operation: function)
        } catch {
            try? await runOnDedicatedThread { try cluster.stop() }
            throw error
        }
        try await runOnDedicatedThread { try cluster.stop() }
    }
}

extension Trait where Self == ClusterFixture {
    static var privateCluster: Self { ClusterFixture() }
}

/// A new directory under the system's temporary directory (world-searchable, like /tmp).
func makeTemporaryDirectory(prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.path + "/\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Opens a connection on a dedicated thread, runs `body` there and closes it.
@discardableResult
func withConnection<Result: Sendable>(
    _ conninfo: String, _ body: @escaping @Sendable (PostgresConnection) throws -> Result
) async throws -> Result {
    try await runOnDedicatedThread {
        let connection = try PostgresConnection.connect(conninfo)
        defer { connection.close() }
        return try body(connection)
    }
}

/// A fresh empty database in the suite's cluster, so tests can run in parallel; returns its URL.
func makeDatabase(migrated: Bool) async throws -> String {
    let cluster = try ClusterFixture.cluster
    let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    try await withConnection(cluster.connectionURL) { try $0.execute("CREATE DATABASE \(name)") }
    let url = cluster.connectionURL(database: name)
    if migrated {
        try await withConnection(url) { try SchemaMigrations.apply(on: $0) }
    }
    return url
}

/// The error `body` throws, for asserting on it.
func capturedError(_ body: () throws -> Void) -> (any Error)? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
