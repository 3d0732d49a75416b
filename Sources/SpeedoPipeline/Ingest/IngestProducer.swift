import Foundation
import Synchronization
package import SpeedoKafka
package import SpeedoRuntime

/// The producing half of `speedo ingest`, on a thread of its own: it takes the blocks of records the reading thread
/// decoded and encoded, in order, orders each by partition (`ReadingPublisher.assignPartitions`) and queues it with
/// backpressure, so that decoding the next block and queuing this one use both cores instead of taking turns on one.
/// (Measured: the two halves then take about the same time: bench/README.md.)
///
/// At most `capacity` blocks wait between the two threads (`HandOff`): a full producer queue stops the producing
/// thread, which then stops the reading thread (`hand`), so memory stays bounded and nothing is dropped. When
/// producing has to stop (a signal while waiting for room, or a fatal producer error), every reading of the block in
/// hand and of the blocks still waiting is reported as not delivered, and the reading thread learns why at its next
/// hand-over.
package final class IngestProducer: Sendable {
    private static let capacity = 2
    /// How often delivery reports are served while no block comes.
    private static let reportServingInterval = Duration.milliseconds(100)

    private let publisher: ReadingPublisher
    private let tally: DeliveryTally
    private let stop: StopRequest
    private let blocks = HandOff<EncodedRecords>(capacity: capacity)
    /// Why producing stopped; set before the hand-off refuses blocks, so that a refused `hand` finds it.
    private let stopped = Mutex<IngestSession.Stop?>(nil)
    private let roomWaits = Atomic<Int>(0)
    /// Blocks published and emptied, for the reading thread to fill again: a fresh block's half megabyte would be
    /// faulted in page by page, and freed on the other thread, every 4,096 readings.
    private let emptied = Mutex<[EncodedRecords]>([])

    package init(publisher: ReadingPublisher, tally: DeliveryTally, stop: StopRequest) {
        self.publisher = publisher
        self.tally = tally
        self.stop = stop
        blocks.startWorker(named: "speedo-produce") { [self] in produceUntilDone() }
    }

    /// How often the producing thread found the producer's queue full and waited for room (backpressure).
    package var waitsForRoom: Int { roomWaits.load(ordering: .relaxed) }

    /// What became of a hand-over.
    package enum Handover: Equatable {
        case accepted
        /// Still full after `slice`: the caller may redraw its progress and hand the block over again.
        case full
        /// Producing stopped; the block was reported as not delivered.
        case stopped(IngestSession.Stop)
    }

    /// A block to fill: one already published, emptied, or a new one.
    package func emptyBlock(reservingCapacity count: Int) -> EncodedRecords {
        emptied.withLock { $0.popLast() } ?? EncodedRecords(reservingCapacity: count)
    }

    /// Gives the producing thread a block, waiting up to `slice` while `capacity` blocks are already waiting.
    package func hand(_ block: EncodedRecords, waitingAtMost slice: Duration) -> Handover {
        switch blocks.hand(block, waitingAtMost: slice) {
        case .accepted: return .accepted
        case .full: return .full
        case .refused:
            let reason = stopReason
            reportUnqueued(block.tags(from: 0), reason)
            return .stopped(reason)
        }
    }

    package enum Finish: Equatable {
        /// Still publishing after `slice`.
        case busy
        /// Every block handed over was published.
        case done
        case stopped(IngestSession.Stop)
    }

    /// No more blocks: waits up to `slice` for the producing thread to publish what it has.
    package func finish(waitingAtMost slice: Duration) -> Finish {
        blocks.close()
        guard blocks.waitUntilEnded(waitingAtMost: slice) else { return .busy }
        return stopped.withLock { $0 }.map(Finish.stopped) ?? .done
    }

    /// Set by the producing thread before it gives up; a block is refused only after that.
    private var stopReason: IngestSession.Stop {
        guard let reason = stopped.withLock({ $0 }) else { preconditionFailure("a block refused while producing goes on") }
        return reason
    }

    /// Serves the publisher's delivery reports (this thread is the one that publishes) after each block and while
    /// it waits for the next, so that confirmations show in the progress line while input trickles in.
    private func produceUntilDone() {
        while var records = blocks.next(idleEvery: Self.reportServingInterval, whenIdle: publisher.serveReports) {
            publisher.assignPartitions(&records)
            if let stop = publish(records) {
                stopped.withLock { $0 = stop }
                for abandoned in blocks.abandon() { reportUnqueued(abandoned.tags(from: 0), stop) }
                return
            }
            records.removeAll()
            emptied.withLock { blocks in if blocks.count <= Self.capacity { blocks.append(records) } }
            publisher.serveReports()
        }
    }

    /// Queues a block; a full queue makes this thread wait (and so, soon, the reading thread) until there is room or a
    /// signal. When it has to stop part way, the records not queued are reported.
    private func publish(_ block: EncodedRecords) -> IngestSession.Stop? {
        var next = 0
        while next < block.count {
            let (stoppedAt, refusal) = publisher.queue(block, from: next)
            next = stoppedAt
            guard let refusal else { return nil }
            if refusal.isQueueFull {
                roomWaits.add(1, ordering: .relaxed)
                guard !stop.isRequested else {
                    tally.noteFailure(
                        tag: block.tag(at: next),
                        CommandFailure(.interrupted, "interrupted while waiting for room in the producer queue"))
                    reportUnqueued(block.tags(from: next + 1), .interrupted)
                    return .interrupted
                }
                publisher.waitForRoom()
                continue
            }
            tally.noteFailure(tag: block.tag(at: next), refusal)
            next += 1
            // A fatal error leaves the producer unusable: the rest could only fail the same way.
            if refusal.isFatal {
                reportUnqueued(block.tags(from: next), .producerFailed)
                return .producerFailed
            }
        }
        return nil
    }

    private func reportUnqueued(_ tags: some Sequence<UInt64>, _ reason: IngestSession.Stop) {
        let failure = reason == .interrupted
            ? CommandFailure(.interrupted, "interrupted before it was queued")
            : CommandFailure(.notDelivered, "not queued: the producer failed before it")
        for tag in tags { tally.noteFailure(tag: tag, failure) }
    }
}
