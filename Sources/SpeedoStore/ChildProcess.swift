import CLibPQ
import Foundation

/// Runs a program to completion and returns its exit status and combined stdout/stderr.
///
/// Not Foundation's `Process`: on Linux it hands every child one end of a socket pair and waits
/// for that socket to close before reaping. `pg_ctl start` leaves a daemon (the postmaster)
/// holding it forever, so `waitUntilExit()` never returns. Here the child inherits nothing but
/// stdin (/dev/null) and the output pipe, and `waitpid` reaps exactly the child itself. Blocks.
struct ChildProcess {
    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var workingDirectory: String

    struct Outcome {
        var status: Int32
        var output: String
    }

    func run() throws(ChildProcessError) -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ChildProcessError(errno: errno) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Children spawned meanwhile by other threads must not keep our pipe open.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        speedo_spawn_add_closefrom(&actions, 3)
        speedo_spawn_add_chdir(&actions, workingDirectory)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(writeEnd)
        defer { close(readEnd) }
        guard spawned == 0 else { throw ChildProcessError(errno: spawned) }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                output += buffer[..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        let exitedNormally = waitStatus & 0x7f == 0
        let status = exitedNormally ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)
        return Outcome(status: status, output: String(decoding: output, as: UTF8.self))
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    var errno: Int32
    var description: String { String(cString: strerror(errno)) }
}
