import Glibc
package import SpeedoRuntime

/// One input of `speedo ingest`: a file, or standard input (named `<stdin>` in messages).
package final class InputStream {
    package static let standardInputName = "<stdin>"

    package let name: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Pipes and terminals are polled, so that a signal stop a wait for the next bytes; files never block.
    private let mayBlock: Bool

    /// `-` is standard input.
    package init(path: String) throws(CommandFailure) {
        if path == "-" {
            name = Self.standardInputName
            descriptor = STDIN_FILENO
            ownsDescriptor = false
        } else {
            name = path
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            ownsDescriptor = true
            guard descriptor >= 0 else {
                throw CommandFailure(.usage, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
        }
        var status = stat()
        let known = fstat(descriptor, &status) == 0
        if known, status.st_mode & S_IFMT == S_IFDIR {
            if ownsDescriptor { close(descriptor) }
            throw CommandFailure(
                .usage, "\(path) is a directory, not a file of readings: name its files (e.g. \(path)/*.ndjson)")
        }
        mayBlock = !known || (status.st_mode & S_IFMT) != S_IFREG
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    package enum ReadResult {
        case bytes(Int)
        case endOfInput
        /// Nothing arrived yet (the wait is sliced so that the caller can redraw progress).
        case idle
        case interrupted
    }

    /// Reads the next chunk into `buffer`, waiting at most `slice` for a pipe to deliver.
    package func read(into buffer: UnsafeMutableRawBufferPointer, stop: StopRequest, slice: Duration) throws(CommandFailure) -> ReadResult {
        if stop.isRequested { return .interrupted }
        if mayBlock {
            var descriptors = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stop.wakeDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, slice.clampedMilliseconds)
            if descriptors[1].revents != 0 { return .interrupted }
            if ready == 0 || (ready < 0 && errno == EINTR) { return .idle }
        }
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfInput }
            if errno == EINTR { continue }
            if errno == EAGAIN { return .idle }
            throw CommandFailure(.inputRejected, "cannot read \(name): \(String(cString: strerror(errno)))")
        }
    }
}

/// `--reject-file`: the rejected lines, exactly as read, one per line, so they can be fixed and ingested again.
package final class RejectFile {
    package let path: String
    private let descriptor: Int32
    private var pending: [UInt8] = []

    package init(path: String) throws(CommandFailure) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CommandFailure(.usage, "cannot create the reject file \(path): \(String(cString: strerror(errno)))")
        }
        pending.reserveCapacity(1 << 16)
    }

    deinit {
        try? flush()
        close(descriptor)
    }

    package func append(_ line: UnsafeRawBufferPointer) throws(CommandFailure) {
        pending.append(contentsOf: line)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 1 << 16 { try flush() }
    }

    package func flush() throws(CommandFailure) {
        var written = 0
        while written < pending.count {
            let count = pending.withUnsafeBytes { bytes in
                write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(.inputRejected, "cannot write the reject file \(path): \(String(cString: strerror(errno)))")
            }
            written += count
        }
        pending.removeAll(keepingCapacity: true)
    }
}
