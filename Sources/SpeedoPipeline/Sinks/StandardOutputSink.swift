import Foundation
package import SpeedoCore
import SpeedoRuntime

/// Readings on standard output, one per line (NDJSON or CSV), written in large blocks so that a run
/// is limited by the reader, not by system calls. A reader that goes away (`| head`) ends the run
/// cleanly; SIGPIPE must be ignored for that, which the commands using it (`simulate`, `consume stdout`) do.
package struct StandardOutputSink: ReadingSink {
    private let format: ReadingTextFormat
    private var buffer: [UInt8] = []

    package init(format: ReadingTextFormat = .ndjson) {
        self.format = format
        buffer.reserveCapacity(StandardOutput.blockSize + 256)
        if let header = format.header { buffer.append(contentsOf: (header + "\n").utf8) }
    }

    package mutating func write(_ batch: [Reading]) throws -> SinkState {
        for reading in batch {
            format.appendLine(reading, to: &buffer)
            if buffer.count >= StandardOutput.blockSize, try flush() == .closed { return .closed }
        }
        // Every batch goes out whole, so that a reader sees readings when they are due.
        return try flush()
    }

    /// Writes what is still buffered: the header line, when no reading came.
    package mutating func finish() throws {
        _ = try flush()
    }

    private mutating func flush() throws -> SinkState {
        defer { buffer.removeAll(keepingCapacity: true) }
        return try StandardOutput.write(buffer)
    }
}

/// Standard output through write(2) itself: no copy into `Data`, and a reader that went away is a state, not a crash.
package enum StandardOutput {
    /// Large enough that a run is limited by the reader, not by system calls.
    package static let blockSize = 1 << 16

    /// Writes `pieces` one after another: short ones gathered into blocks, so that many cost few system calls,
    /// long ones as they are, so that they are not copied.
    package static func write(_ pieces: [[UInt8]]) throws -> SinkState {
        var block: [UInt8] = []
        for piece in pieces {
            if piece.count < blockSize { block.append(contentsOf: piece) }
            if piece.count >= blockSize || block.count >= blockSize {
                guard try write(block) == .open else { return .closed }
                block.removeAll(keepingCapacity: true)
            }
            if piece.count >= blockSize, try write(piece) == .closed { return .closed }
        }
        return try write(block)
    }

    /// Writes all of `bytes`; `.closed` when the reader is gone (EPIPE, seen only where SIGPIPE is ignored).
    package static func write(_ bytes: [UInt8]) throws -> SinkState {
        try bytes.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written >= 0 {
                    offset += written
                    continue
                }
                switch errno {
                case EINTR: continue
                case EPIPE: return .closed
                case let code:
                    throw CommandFailure(
                        .notDelivered,
                        "cannot write to standard output: \(String(cString: strerror(code))); "
                            + "check where it is redirected (a full disk?)")
                }
            }
            return .open
        }
    }
}
