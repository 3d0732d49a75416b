import Foundation
package import Testing

extension Trait where Self == ProgramTurns {
    /// Each test (each case of a parameterized one) of the suite runs only while at most a few others that run
    /// programs do. See `ProgramTurns`.
    package static var programTurns: Self { ProgramTurns(ahead: false) }

    /// The same, for a serialized suite: its tests run one after the other, so the suite is a chain that lasts as long
    /// as all of them; each of its tests goes ahead of the tests of parallel suites waiting for a turn, or the chain
    /// would wait behind all of them each time and end the whole run last.
    package static var programTurnsAhead: Self { ProgramTurns(ahead: true) }
}

/// Swift Testing starts every test of a run at once. Tests of the binary run programs (speedo, PostgreSQL, kcat)
/// and bound how long they take; a hundred of them sharing two cores would all run into their bounds. A test of a
/// suite with this trait waits for its turn before it starts — a few more turns than cores, so that the cores stay
/// busy while programs wait on the network or on PostgreSQL — and its clocks start only then. In-process tests do not
/// take turns. `SPEEDO_TEST_PROGRAM_TURNS` sets the number.
package struct ProgramTurns: TestTrait, SuiteTrait, TestScoping {
    let ahead: Bool

    package var isRecursive: Bool { true }

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await Turns.shared.begin(ahead: ahead)
        let outcome: Result<Void, any Error>
        do {
            outcome = .success(try await function())
        } catch {
            outcome = .failure(error)
        }
        await Turns.shared.end()
        try outcome.get()
    }
}

private actor Turns {
    static let shared = Turns(
        count: Int(ProcessInfo.processInfo.environment["SPEEDO_TEST_PROGRAM_TURNS"] ?? "")
            ?? ProcessInfo.processInfo.activeProcessorCount + 2)

    private var free: Int
    private var waitingAhead: [CheckedContinuation<Void, Never>] = []
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = max(1, count) }

    func begin(ahead: Bool) async {
        if free > 0 {
            free -= 1
        } else if ahead {
            await withCheckedContinuation { waitingAhead.append($0) }
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    func end() {
        if !waitingAhead.isEmpty {
            waitingAhead.removeFirst().resume()
        } else if !waiting.isEmpty {
            waiting.removeFirst().resume()
        } else {
            free += 1
        }
    }
}
