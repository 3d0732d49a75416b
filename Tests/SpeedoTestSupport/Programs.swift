import Foundation
import SpeedoRuntime
import Testing

/// What a program run by a test did.
package struct ProgramOutcome: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
    /// From the program's start to its end: what a test bounds, not how long the program waited for its turn.
    package var elapsed: Duration

    package init(status: Int32, stdout: String, stderr: String, elapsed: Duration = .zero) {
        (self.status, self.stdout, self.stderr, self.elapsed) = (status, stdout, stderr, elapsed)
    }
}

/// Runs a program as a user would (the speedo binary, or an independent client for cross-checks: kcat, psql, curl),
/// with `input` as standard input (a regular file; /dev/null without it) and its output in files, so that large
/// outputs never block on a full pipe. The wait happens on a thread of its own: a test waiting for a program never
/// holds one of the concurrency pool's threads (two on a 2-core machine), which every other test of the run needs.
package func runProgram(
    _ command: [String], environment overrides: [String: String?] = [:], user: String? = nil,
    input: String? = nil, timeout: Duration = .seconds(60)
) async throws -> ProgramOutcome {
    try await runOnDedicatedThread(name: "speedo-test-program") {
        try runProgramBlocking(command, environment: overrides, user: user, input: input, timeout: timeout)
    }
}

private func runProgramBlocking(
    _ command: [String], environment overrides: [String: String?], user: String?, input: String?, timeout: Duration
) throws -> ProgramOutcome {
    var environment = ProcessInfo.processInfo.environment
    for (name, value) in overrides { environment[name] = value }
    let process = Process()
    if let user {
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        let assignments = overrides.compactMap { name, value in value.map { "\(name)=\($0)" } }
        process.arguments = ["-u", user, "--", "/usr/bin/env"] + assignments + command
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
    }
    process.environment = environment
    let output = try TemporaryFile(), errors = try TemporaryFile()
    process.standardOutput = output.handle
    process.standardError = errors.handle
    let inputFile = try input.map { text in
        let file = try TemporaryFile()
        try file.handle.write(contentsOf: Data(text.utf8))
        return file
    }
    process.standardInput = try inputFile.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0.path)) }
        ?? FileHandle.nullDevice
    try process.runTakingTurns()
    let started = ContinuousClock.now
    let deadline = started.advanced(by: timeout)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            Issue.record("\(command.joined(separator: " ")) did not finish within \(timeout)")
            break
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    process.waitUntilExit()
    return ProgramOutcome(
        status: process.terminationStatus, stdout: output.contents(), stderr: errors.contents(),
        elapsed: ContinuousClock.now - started)
}

extension Process {
    /// `run()`, taking its turn with other spawns and with the mock broker's rebinds (see `SpawnTurns`): a test that
    /// starts a program while a mock broker is set down would otherwise abort the whole test process.
    package func runTakingTurns() throws {
        try SpawnTurns.exclusively { () throws -> Void in try run() }
    }
}
