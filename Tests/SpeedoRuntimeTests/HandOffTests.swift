import Foundation
import SpeedoRuntime
import Synchronization
import Testing

/// `HandOff` with real threads: order, the bound, giving up, idling. The blocking runs on threads of its own; what
/// it saw is checked afterwards.
@Suite struct HandOffTests {
    @Test func jobsAreDoneOneAtATimeInTheOrderHandedOver() async throws {
        let (handed, ended, overlapped, done) = try await runOnDedicatedThread(name: "speedo-test") {
            let handOff = HandOff<Int>(capacity: 2)
            let done = Mutex<[Int]>([])
            let working = Atomic<Int>(0)
            let overlapped = Atomic<Bool>(false)
            handOff.startWorker(named: "speedo-test-worker") {
                while let job = handOff.next() {
                    if working.add(1, ordering: .relaxed).newValue > 1 { overlapped.store(true, ordering: .relaxed) }
                    usleep(200)
                    done.withLock { $0.append(job) }
                    working.subtract(1, ordering: .relaxed)
                }
            }
            let handed = (0..<200).map { handOff.hand($0, waitingAtMost: nil) }
            handOff.close()
            let ended = handOff.waitUntilEnded(waitingAtMost: .seconds(30))
            return (handed, ended, overlapped.load(ordering: .relaxed), done.withLock { $0 })
        }
        #expect(handed.allSatisfy { $0 == .accepted })
        #expect(ended)
        #expect(!overlapped)
        #expect(done == Array(0..<200))
    }

    /// The worker holds its first job; two more wait; the fourth finds no room until the worker moves on.
    @Test func aBusyWorkerHoldsTheReadingSideAtCapacity() async throws {
        let (atCapacity, idleWhileFull, afterRoom, drained) = try await runOnDedicatedThread(name: "speedo-test") {
            let handOff = HandOff<Int>(capacity: 2)
            let started = DispatchSemaphore(value: 0)
            let proceed = DispatchSemaphore(value: 0)
            handOff.startWorker(named: "speedo-test-worker") {
                while handOff.next() != nil {
                    started.signal()
                    proceed.wait()
                }
            }
            var atCapacity = [handOff.hand(1, waitingAtMost: .zero)]
            started.wait()
            atCapacity += [2, 3].map { handOff.hand($0, waitingAtMost: .zero) }
            atCapacity.append(handOff.hand(4, waitingAtMost: .milliseconds(50)))
            let idleWhileFull = handOff.isIdle
            proceed.signal()
            let afterRoom = handOff.hand(4, waitingAtMost: .seconds(30))
            for _ in 0..<3 { proceed.signal() }
            handOff.close()
            let drained = handOff.waitUntilIdle(waitingAtMost: .seconds(30)) && handOff.waitUntilEnded(waitingAtMost: .seconds(30))
            return (atCapacity, idleWhileFull, afterRoom, drained)
        }
        #expect(atCapacity == [.accepted, .accepted, .accepted, .full])
        #expect(!idleWhileFull)
        #expect(afterRoom == .accepted)
        #expect(drained)
    }

    @Test func aWorkerThatGivesUpGetsTheWaitingJobsBackAndLaterOnesAreRefused() async throws {
        let (handed, ended, abandoned, idle) = try await runOnDedicatedThread(name: "speedo-test") {
            let handOff = HandOff<Int>(capacity: 2)
            let started = DispatchSemaphore(value: 0)
            let proceed = DispatchSemaphore(value: 0)
            let abandoned = Mutex<[Int]>([])
            handOff.startWorker(named: "speedo-test-worker") {
                guard handOff.next() != nil else { return }
                started.signal()
                proceed.wait()
                let jobs = handOff.abandon()
                abandoned.withLock { $0 = jobs }
            }
            var handed = [handOff.hand(1, waitingAtMost: .zero)]
            started.wait()
            handed += [2, 3].map { handOff.hand($0, waitingAtMost: .zero) }
            proceed.signal()
            // Refused once the worker gives up, also while waiting for room.
            handed.append(handOff.hand(4, waitingAtMost: .seconds(30)))
            let ended = handOff.waitUntilEnded(waitingAtMost: .seconds(30))
            return (handed, ended, abandoned.withLock { $0 }, handOff.isIdle)
        }
        #expect(handed == [.accepted, .accepted, .accepted, .refused])
        #expect(ended)
        #expect(abandoned == [2, 3])
        #expect(idle)
    }

    @Test func anIdleWorkerRunsItsIdleWorkEveryInterval() async throws {
        let (turns, ended) = try await runOnDedicatedThread(name: "speedo-test") {
            let handOff = HandOff<Int>(capacity: 1)
            let idleTurns = Atomic<Int>(0)
            handOff.startWorker(named: "speedo-test-worker") {
                while handOff.next(idleEvery: .milliseconds(10), whenIdle: { idleTurns.add(1, ordering: .relaxed) })
                    != nil
                {}
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while idleTurns.load(ordering: .relaxed) < 3, ContinuousClock.now < deadline { usleep(5_000) }
            handOff.close()
            return (idleTurns.load(ordering: .relaxed), handOff.waitUntilEnded(waitingAtMost: .seconds(30)))
        }
        #expect(turns >= 3)
        #expect(ended)
    }
}
