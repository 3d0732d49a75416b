import Foundation
import SpeedoCore

/// The bounded hand-off from the thread that reads (Kafka, stdin) to one worker thread that does the slow part
/// (storing in PostgreSQL, producing to Kafka), so that reading the next batch and working on this one use both cores
/// instead of taking turns on one.
///
/// At most `capacity` jobs wait, plus the one the worker is on: a slow worker stops the reading thread in `hand`, so
/// memory stays bounded and nothing is dropped. Jobs are done one at a time, in the order handed over. The worker may
/// give up (`abandon`): it gets back the jobs still waiting, and every later `hand` is refused, so that the owner can
/// account for each job that will never be done.
///
/// The bookkeeping is a state machine (`State`) changed only with `condition` locked; what a transition calls for
/// (doing a job, reporting abandoned ones, serving reports while idle) happens outside the lock, in the owner.
package final class HandOff<Job: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `state` is only read or written while `condition` is locked.

    /// What the lock protects. Pure: every transition says what the caller is to do next.
    struct State {
        let capacity: Int
        var waiting: [Job] = []
        /// The worker took a job and has not asked for the next yet.
        var working = false
        /// The reading side hands over no more jobs.
        var closed = false
        /// The worker gave up, or its thread ended: every later `hand` is refused.
        var refusing = false
        var ended = false

        enum Handing: Equatable {
            case accepted, full, refused
        }

        mutating func hand(_ job: Job) -> Handing {
            if refusing { return .refused }
            precondition(!closed, "a job handed over after close()")
            guard waiting.count < capacity else { return .full }
            waiting.append(job)
            return .accepted
        }

        enum Taking {
            case job(Job)
            /// Nothing waiting yet.
            case wait
            /// Closed and nothing left, or given up.
            case end
        }

        /// The worker is done with its previous job (if any) and asks for the next.
        mutating func take() -> Taking {
            working = false
            if refusing { return .end }
            guard waiting.isEmpty else {
                working = true
                return .job(waiting.removeFirst())
            }
            return closed ? .end : .wait
        }

        /// The worker gives up: returns the jobs that were waiting, which will never be done.
        mutating func abandon() -> [Job] {
            refusing = true
            working = false
            defer { waiting.removeAll() }
            return waiting
        }

        mutating func workerEnded() {
            precondition(waiting.isEmpty || refusing, "the worker ended with jobs waiting")
            refusing = true
            working = false
            ended = true
        }

        /// Nothing waiting and the worker not on a job.
        var isIdle: Bool { waiting.isEmpty && !working }
    }

    private let condition = NSCondition()
    private var state: State

    package init(capacity: Int) {
        precondition(capacity >= 1, "a hand-off holds at least one job")
        state = State(capacity: capacity)
    }

    /// Runs `body` on a thread of its own named `name` (seen in ps, perf, gdb): the worker, which takes jobs with
    /// `next`. When `body` returns, the worker has ended: `hand` refuses and `waitUntilEnded` returns.
    package func startWorker(named name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            // Set from inside: only then does Foundation on Linux name the OS thread.
            Thread.current.name = name
            body()
            locked { $0.workerEnded() }
        }
        thread.start()
    }

    // MARK: - The reading side

    package enum Handing: Equatable {
        case accepted
        /// Still `capacity` jobs waiting after the time allowed: the caller may redraw its progress and try again.
        case full
        /// The worker gave up (or ended): the job will not be done, and is the caller's to account for.
        case refused
    }

    /// Hands `job` to the worker, waiting up to `slice` (nil: as long as it takes) while `capacity` jobs wait.
    package func hand(_ job: Job, waitingAtMost slice: Duration?) -> Handing {
        let deadline = slice.map { Date(timeIntervalSinceNow: $0.inSeconds) }
        var timedOut = false
        while true {
            switch locked({ $0.hand(job) }) {
            case .accepted: return .accepted
            case .refused: return .refused
            case .full:
                if timedOut { return .full }
                timedOut = !wait(until: deadline) { !$0.refusing && $0.waiting.count >= $0.capacity }
            }
        }
    }

    /// True when no job waits and the worker is not on one (also once it gave up or ended).
    package var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state.isIdle
    }

    /// Waits up to `slice` (nil: as long as it takes) until `isIdle`; returns whether it is.
    @discardableResult
    package func waitUntilIdle(waitingAtMost slice: Duration? = nil) -> Bool {
        wait(until: slice.map { Date(timeIntervalSinceNow: $0.inSeconds) }) { !$0.isIdle }
    }

    /// No more jobs: the worker's `next` returns nil once those waiting are done. Calling it again changes nothing.
    package func close() {
        locked { $0.closed = true }
    }

    /// Waits up to `slice` (nil: as long as it takes) for the worker's thread to end; returns whether it did.
    @discardableResult
    package func waitUntilEnded(waitingAtMost slice: Duration? = nil) -> Bool {
        wait(until: slice.map { Date(timeIntervalSinceNow: $0.inSeconds) }) { !$0.ended }
    }

    // MARK: - The worker

    /// The worker is done with its previous job and takes the next, waiting for one; nil once the hand-off is closed
    /// and nothing is left (or the worker gave up). While it waits, `whenIdle` runs every `idleInterval`, outside the
    /// lock (to serve delivery reports while input trickles in).
    package func next(idleEvery idleInterval: Duration? = nil, whenIdle: () -> Void = {}) -> Job? {
        condition.lock()
        while true {
            switch state.take() {
            case .job(let job):
                condition.broadcast()
                condition.unlock()
                return job
            case .end:
                condition.broadcast()
                condition.unlock()
                return nil
            case .wait:
                // Idle now: wakes whoever waits for that (or for room).
                condition.broadcast()
                guard let idleInterval else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: Date(timeIntervalSinceNow: idleInterval.inSeconds)) {
                    condition.unlock()
                    whenIdle()
                    condition.lock()
                }
            }
        }
    }

    /// The worker gives up: every later `hand` is refused. Returns the jobs that were waiting, which will never be
    /// done, for the worker to account for.
    package func abandon() -> [Job] {
        locked { $0.abandon() }
    }

    // MARK: - Locking

    /// Runs a transition and wakes every waiter, who checks whether it concerns them.
    private func locked<Result>(_ transition: (inout State) -> Result) -> Result {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return transition(&state)
    }

    /// Waits while `blocked` holds, until `deadline` (nil: without limit); returns whether it stopped holding.
    private func wait(until deadline: Date?, while blocked: (State) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while blocked(state) {
            if let deadline {
                if !condition.wait(until: deadline) { return !blocked(state) }
            } else {
                condition.wait()
            }
        }
        return true
    }
}
