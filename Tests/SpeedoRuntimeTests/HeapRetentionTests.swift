import CMalloc
import Glibc
import SpeedoRuntime
import Testing

@Suite struct HeapRetentionTests {
    /// 16 MiB freed stays with the allocator, free for the next allocation, instead of going back to the kernel: by
    /// default glibc maps a block that large on its own and unmaps it when it is freed.
    @Test func freedMemoryStaysForReuse() throws {
        HeapRetention.keepFreedMemory(upTo: 64 << 20)
        let size = 16 << 20
        let before = mallinfo2()
        let block = try #require(malloc(size))
        memset(block, 1, size)
        let during = mallinfo2()
        free(block)
        let after = mallinfo2()
        #expect(during.hblkhd - before.hblkhd < size, "the block was mapped on its own")
        #expect(after.fordblks >= before.fordblks + size - (1 << 20), "the freed block was handed back")
    }
}
