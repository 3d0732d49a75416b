import Foundation
import SpeedoTestSupport
import Testing

/// Runs the real `speedo` executable built next to the test bundle, as a user would.
struct SpeedoBinary {
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
    func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) async throws -> ProgramOutcome {
        try await runProgram([executable] + arguments, environment: environment, user: user, input: input, timeout: timeout)
    }
}

extension SpeedoBinary {
    /// Runs `body`, then `speedo dev down` whatever happened: the test's stack (PostgreSQL, the broker) never outlives
    /// it. The async form of a `defer`, which cannot wait for a program.
    func takingTheDevStackDownAfterwards<Result>(_ body: () async throws -> Result) async throws -> Result {
        let result: Result
        do {
            result = try await body()
        } catch {
            _ = try? await run(["dev", "down"])
            throw error
        }
        _ = try? await run(["dev", "down"])
        return result
    }
}
