import CMalloc
import Glibc
import SpeedoRuntime
import Testing

@Suite struct HeapRetentionTests {
    /// 16 MiB freed and taken again costs no page faults: by default glibc maps a block that large on its own and
    /// unmaps it when it is freed (or trims the heap's top), so every one of its 4,096 pages is faulted in again.
    /// On a thread of its own, whose heap is not the main one: that is where ingest's threads allocate.
    @Test func memoryFreedAndTakenAgainIsNotFaultedInAgain() async throws {
        HeapRetention.keepFreedMemory(upTo: 64 << 20)
        let faults = try await runOnDedicatedThread(name: "speedo-test") {
            let size = 16 << 20
            func touchedBlock() -> UnsafeMutableRawPointer? {
                let block = malloc(size)
                if let block { memset(block, 1, size) }
                return block
            }
            free(touchedBlock())
            let before = Self.minorFaultsOfThisThread()
            free(touchedBlock())
            return Self.minorFaultsOfThisThread() - before
        }
        #expect(faults < 256, "\(faults) page faults taking a freed 16 MiB block again (4,096 pages)")
    }

    private static func minorFaultsOfThisThread() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD (glibc, _GNU_SOURCE): this thread's counts, whatever the other tests' threads do.
        getrusage(__rusage_who_t(1), &usage)
        return usage.ru_minflt
    }
}
