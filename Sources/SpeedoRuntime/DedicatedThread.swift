import Foundation

/// Runs blocking work (libpq calls, launching PostgreSQL) on a fresh thread of its own and
/// suspends the caller until it finishes, so the Swift concurrency pool never blocks on I/O.
/// Whatever the work creates (a `PostgresConnection`) should stay on that thread.
@discardableResult
package func runOnDedicatedThread<Result: Sendable>(
    name: String = "speedo.store", _ work: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try work() })
        }
        thread.name = name
        thread.start()
    }
}
