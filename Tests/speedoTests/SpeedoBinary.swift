import Foundation
import SpeedoTestSupport
import Testing

/// Runs the real `speedo` executable built next to the test bundle, as a user would.
struct SpeedoBinary {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let path: String = {
        if let override = ProcessInfo.processInfo.environment["SPEEDO_BINARY"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        // The XCTest bundle on Linux is a single file in the build directory; its name ends in .xctest.
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("speedo").path
    }()

    /// Environment overrides; a nil value removes the variable.
    var environment: [String: String?] = [:]
    /// Runs the command as another user (through runuser) when set; only meaningful as root.
    var user: String?
    /// The executable run: the built one unless a test runs a copy.
    var executable = SpeedoBinary.path

    /// `input` becomes standard input (a regular file); without it, standard input is /dev/null.
    func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) throws -> Outcome {
        try Self.execute([executable] + arguments, environment: environment, user: user, input: input, timeout: timeout)
    }

    /// Runs any program, for cross-checks with independent clients (kcat, psql).
    static func execute(
        _ command: [String], environment overrides: [String: String?] = [:], user: String? = nil,
        input: String? = nil, timeout: Duration = .seconds(60)
    ) throws -> Outcome {
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
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                Issue.record("\(command.joined(separator: " ")) did not finish within \(timeout)")
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: output.contents(), stderr: errors.contents())
    }
}
