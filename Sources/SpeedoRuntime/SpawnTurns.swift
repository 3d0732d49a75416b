import Synchronization

/// Starting a program and closing-then-rebinding a listening socket take turns, process-wide.
///
/// A spawned child holds a copy of every descriptor of ours from the moment it is cloned until it execs. A listening
/// socket closed in that window stays listening in the child's copy, so binding its port again at once fails with
/// EADDRINUSE. librdkafka's mock broker does exactly that when it is set down (it closes its listener and binds the
/// same port again straight away), and aborts the whole process when that bind fails. Every spawn of ours (ChildProcess,
/// and the tests' Foundation `Process` runs) and every such rebind therefore runs inside `exclusively`.
package enum SpawnTurns {
    private static let turn = Mutex(())

    package static func exclusively<Result: Sendable, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try turn.withLock { _ throws(Failure) -> Result in try body() }
    }
}
