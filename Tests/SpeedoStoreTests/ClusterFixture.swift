import Foundation
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
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
        let postgres = try await PrivatePostgres.start(prefix: "speedo-store", settings: Self.testSettings)
        do {
            try await Self.$current.withValue(postgres.server, operation: function)
        } catch {
            try? await runOnDedicatedThread { try postgres.stop() }
            throw error
        }
        try await runOnDedicatedThread { try postgres.stop() }
    }
}

extension Trait where Self == ClusterFixture {
    static var privateCluster: Self { ClusterFixture() }
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
