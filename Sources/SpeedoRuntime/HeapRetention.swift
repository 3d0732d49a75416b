import CMalloc

/// How much freed memory the C allocator keeps for reuse instead of handing it back to the kernel.
package enum HeapRetention {
    /// For bulk work whose threads allocate and free at a high rate: librdkafka allocates every record on the thread
    /// that produces it and frees it on its broker thread once delivered, and its broker buffers come and go. glibc
    /// gives the top of a thread's heap back to the kernel once more than 128 KiB of it is free, and maps each
    /// allocation from 128 KiB up on its own, unmapped when freed: every page touched again after that is a page
    /// fault. A million-line ingest took 16,000–21,000 faults and about 10 % more CPU than with this (6,000–7,000).
    /// Memory in use is unchanged; what was freed stays resident, up to `bytes` per heap, until the process ends.
    package static func keepFreedMemory(upTo bytes: Int32) {
        _ = mallopt(M_TOP_PAD, bytes)
        _ = mallopt(M_TRIM_THRESHOLD, bytes)
        // glibc caps this threshold at 32 MiB: half the 64 MiB a heap of a thread other than the main one may hold.
        _ = mallopt(M_MMAP_THRESHOLD, min(bytes, 32 << 20))
    }
}
