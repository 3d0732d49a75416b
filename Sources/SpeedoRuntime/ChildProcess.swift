import CSpawn
import Foundation

/// Starts another program such that it inherits nothing of ours but what is named here.
///
/// Not Foundation's `Process`: on Linux it hands every child one end of a socket pair and waits
/// for that socket to close before reaping. A child that leaves a daemon behind (`pg_ctl start`
/// leaves the postmaster) would then hold it forever, and `waitUntilExit()` never returns; the
/// same inherited socket would keep whoever started speedo waiting for a detached dev broker.
/// Here the child gets stdin from /dev/null, stdout and stderr where we say, and nothing else.
package struct ChildProcess: Sendable {
    package var executable: String
    package var arguments: [String]
    package var environment: [String: String]
    package var workingDirectory: String

    package init(
        executable: String, arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    package struct Outcome: Sendable {
        package var status: Int32
        package var output: String
    }

    /// Runs the program to completion; returns its exit status and its stdout and stderr combined. Blocks.
    package func run() throws(ChildProcessError) -> Outcome {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ChildProcessError(executable: executable, errno: errno) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Children spawned meanwhile by other threads must not keep our pipe open.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(readEnd) }
        let pid: pid_t
        do {
            pid = try spawn(output: writeEnd, newSession: false)
            close(writeEnd)
        } catch {
            close(writeEnd)
            throw error
        }

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

    /// Starts the program in a session of its own (closing the terminal does not stop it), its
    /// output appended to `logFile`, and returns its pid without waiting for it.
    package func startDetached(logFile: String) throws(ChildProcessError) -> Int32 {
        let log = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw ChildProcessError(executable: logFile, errno: errno) }
        defer { close(log) }
        return try spawn(output: log, newSession: true)
    }

    private func spawn(output: Int32, newSession: Bool) throws(ChildProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        speedo_spawn_add_closefrom(&actions, 3)
        speedo_spawn_add_chdir(&actions, workingDirectory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newSession {
            posix_spawnattr_setflags(&attributes, speedo_spawn_setsid_flag())
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = SpawnTurns.exclusively { posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
        guard spawned == 0 else { throw ChildProcessError(executable: executable, errno: spawned) }
        return pid
    }
}

package struct ChildProcessError: Error, CustomStringConvertible {
    package var executable: String
    package var errno: Int32
    package var description: String { "\(executable): \(String(cString: strerror(errno)))" }
}
