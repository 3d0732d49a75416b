import Foundation
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// A tmux server of its own (own socket, no configuration) with one pane running one command.
struct TmuxPane {
    let socket = "speedo-tmux-\(UUID().uuidString.prefix(8))"

    init(command: String, columns: Int = 120, rows: Int = 40) throws {
        let started = try tmux(["-f", "/dev/null", "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", command])
        try #require(started.status == 0, "tmux did not start: \(started.output)")
    }

    /// A pane whose every output byte is appended to `transcript`: what a command drew and erased again shows
    /// there however late a test looks, where sampling the screen can miss it on a busy machine. The command
    /// starts only once the recording runs.
    init(command: String, transcript: String, columns: Int = 120, rows: Int = 40) throws {
        let recording = transcript + ".recording"
        try self.init(command: "until [ -e '\(recording)' ]; do sleep 0.05; done; \(command)", columns: columns, rows: rows)
        let piped = try tmux(["pipe-pane", "-o", "cat >>'\(transcript)'"])
        try #require(piped.status == 0, "tmux did not record the pane: \(piped.output)")
        try #require(FileManager.default.createFile(atPath: recording, contents: nil))
    }

    /// The texts a command drew on its status line (each drawing starts with a carriage return and an erase).
    static func statusLineDrawings(_ transcript: String) throws -> [Substring] {
        try String(contentsOfFile: transcript, encoding: .utf8).split(separator: "\r\u{1B}[K").map { drawing in
            drawing.prefix { $0 != "\r" && $0 != "\n" }
        }
    }

    /// Through ChildProcess, not Foundation's Process: the tmux server that new-session leaves behind would
    /// hold Process's inherited socket, and Process would wait for it forever.
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> ChildProcess.Outcome {
        try ChildProcess(executable: "/usr/bin/tmux", arguments: ["-L", socket] + arguments).run()
    }

    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p"] + (escapes ? ["-e"] : [])).output
    }

    func display(_ format: String) -> String {
        ((try? tmux(["display-message", "-p", format]).output) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A key by its tmux name (`Enter`, `Escape`, `q`).
    func sendKeys(_ key: String) throws { try tmux(["send-keys", key]) }

    /// Text typed character by character.
    func type(_ text: String) throws { try tmux(["send-keys", "-l", text]) }

    func resize(columns: Int, rows: Int) throws { try tmux(["resize-window", "-x", "\(columns)", "-y", "\(rows)"]) }

    /// Polls the screen until `condition` holds; fails the test with the last screen after `timeout`.
    func waitForScreen(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var screen = ""
        while ContinuousClock.now < deadline {
            screen = try capture()
            if condition(screen) { return screen }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the screen never became as expected; last seen:\n\(screen)")
        throw CancellationError()
    }

    /// The exit status the pane's shell wrote to `status` in `files` once its command ended.
    func waitForExitStatus(_ files: TemporaryDirectory, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = try? String(contentsOfFile: files.path + "/status", encoding: .utf8), status.hasSuffix("\n") {
                return status.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the command did not end within \(timeout); screen:\n\((try? capture()) ?? "")")
        throw CancellationError()
    }

    /// Sends `signal` (`TERM`, `SEGV`…) to the command the pane's shell runs (its one child).
    func signalCommand(_ signal: String) async throws {
        let shell = try #require(Int32(display("#{pane_pid}")))
        let command = try await runProgram(["pgrep", "-P", "\(shell)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(Int32(command) != nil, "no command running under the pane's shell \(shell)")
        _ = try await runProgram(["kill", "-\(signal)", command])
    }

    func killServer() { _ = try? tmux(["kill-server"]) }

    /// The rows of a capture (each ends with a newline).
    static func rows(_ capture: String) -> [Substring] {
        Array(capture.split(separator: "\n", omittingEmptySubsequences: false).dropLast())
    }
}
