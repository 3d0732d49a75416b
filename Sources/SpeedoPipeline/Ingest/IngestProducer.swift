import Foundation
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// Valid readings with their delivery tags, in input order: what the reading thread hands to the producing one.
package typealias IngestBlock = [(reading: Reading, tag: UInt64)]

/// The producing half of `speedo ingest`, on a thread of its own: it takes the blocks the reading thread decoded,
/// in order, and publishes each (in `ReadingPublisher.partitionPlan`'s order and partitions, with backpressure), so that decoding the next
/// block and encoding and producing this one use both cores instead of taking turns on one.
///
/// At most `capacity` blocks wait between the two threads: a full producer queue stops the producing thread, which
/// then stops the reading thread (`hand`), so memory stays bounded and nothing is dropped. When producing has to stop
/// (a signal while waiting for room, or a fatal producer error), every reading of the block in hand and of the blocks
/// still waiting is reported as not delivered, and the reading thread learns why at its next hand-over.
package final class IngestProducer: @unchecked Sendable {
    // @unchecked Sendable: `state` is only read or written while `condition` is locked; the other properties are
    // immutable and Sendable.
    private struct State {
        var waiting: [IngestBlock] = []
        var noMoreBlocks = false
        var stopped: IngestSession.Stop?
        var finished = false
    }

    private static let capacity = 2
    /// How often delivery reports are served while no block comes.
    private static let reportServingInterval = Duration.milliseconds(100)

    private let publisher: ReadingPublisher
    private let tally: DeliveryTally
    private let stop: StopRequest
    private let condition = NSCondition()
    private var state = State()

    package init(publisher: ReadingPublisher, tally: DeliveryTally, stop: StopRequest) {
        self.publisher = publisher
        self.tally = tally
        self.stop = stop
        let thread = Thread { [self] in
            // Set from inside: only then does Foundation on Linux name the OS thread (seen in ps, perf, gdb).
            Thread.current.name = "speedo-produce"
            produceUntilDone()
        }
        thread.start()
    }

    /// What became of a hand-over.
    package enum Handover: Equatable {
        case accepted
        /// Still full after `slice`: the caller may redraw its progress and hand the block over again.
        case full
        /// Producing stopped; the block was reported as not delivered.
        case stopped(IngestSession.Stop)
    }

    /// Gives the producing thread a block, waiting up to `slice` while `capacity` blocks are already waiting.
    package func hand(_ block: IngestBlock, waitingAtMost slice: Duration) -> Handover {
        let deadline = Date(timeIntervalSinceNow: slice.inSeconds)
        condition.lock()
        while state.stopped == nil && state.waiting.count >= Self.capacity {
            if !condition.wait(until: deadline) { break }
        }
        let outcome: Handover
        if let stopped = state.stopped {
            outcome = .stopped(stopped)
        } else if state.waiting.count >= Self.capacity {
            outcome = .full
        } else {
            state.waiting.append(block)
            outcome = .accepted
            condition.broadcast()
        }
        condition.unlock()
        if case .stopped(let reason) = outcome { reportUnqueued(block, reason) }
        return outcome
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
        let deadline = Date(timeIntervalSinceNow: slice.inSeconds)
        condition.lock()
        defer { condition.unlock() }
        if !state.noMoreBlocks {
            state.noMoreBlocks = true
            condition.broadcast()
        }
        while !state.finished {
            if !condition.wait(until: deadline) { return .busy }
        }
        return state.stopped.map(Finish.stopped) ?? .done
    }

    private func produceUntilDone() {
        while let block = nextBlock() {
            if let stop = publish(block) {
                condition.lock()
                state.stopped = stop
                let abandoned = state.waiting
                state.waiting = []
                condition.broadcast()
                condition.unlock()
                for block in abandoned { reportUnqueued(block, stop) }
                break
            }
        }
        condition.lock()
        state.finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Serves the publisher's delivery reports (this thread is the one that publishes) after each block and while
    /// it waits for the next, so that confirmations show in the progress line while input trickles in.
    private func nextBlock() -> IngestBlock? {
        publisher.serveReports()
        condition.lock()
        while state.waiting.isEmpty && !state.noMoreBlocks {
            if !condition.wait(until: Date(timeIntervalSinceNow: Self.reportServingInterval.inSeconds)) {
                condition.unlock()
                publisher.serveReports()
                condition.lock()
            }
        }
        defer { condition.unlock() }
        guard !state.waiting.isEmpty else { return nil }
        condition.broadcast()
        return state.waiting.removeFirst()
    }

    /// Publishes a block in partition order; when it has to stop part way, the readings not queued are reported.
    private func publish(_ block: IngestBlock) -> IngestSession.Stop? {
        let plan = publisher.partitionPlan(of: block.map(\.reading))
        for (position, index) in plan.order.enumerated() {
            if let stop = publish(block[index].reading, tag: block[index].tag, partition: plan.partitions?[index]) {
                reportUnqueued(plan.order[(position + 1)...].map { block[$0] }, stop)
                return stop
            }
        }
        return nil
    }

    /// Backpressure: a full queue makes this thread wait (and so, soon, the reading thread), until a signal.
    private func publish(_ reading: Reading, tag: UInt64, partition: Int32?) -> IngestSession.Stop? {
        do {
            let queued = try publisher.publish(
                reading, tag: tag, partition: partition, waitingInSlicesOf: ProgressLine.interval
            ) {
                !stop.isRequested
            }
            if !queued {
                tally.noteFailure(tag: tag, CommandFailure(.interrupted, "interrupted while waiting for room in the producer queue"))
                return .interrupted
            }
        } catch {
            tally.noteFailure(tag: tag, error)
            // A fatal error leaves the producer unusable: the rest could only fail the same way.
            if error.isFatal { return .producerFailed }
        }
        return nil
    }

    private func reportUnqueued(_ readings: some Sequence<(reading: Reading, tag: UInt64)>, _ reason: IngestSession.Stop) {
        let failure = reason == .interrupted
            ? CommandFailure(.interrupted, "interrupted before it was queued")
            : CommandFailure(.notDelivered, "not queued: the producer failed before it")
        for (_, tag) in readings { tally.noteFailure(tag: tag, failure) }
    }
}
