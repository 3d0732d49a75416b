import ArgumentParser
import Foundation
import SpeedoPipeline
import SpeedoRuntime

struct DevEnv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print SPEEDO_BROKERS and SPEEDO_DATABASE_URL of the local stack, for eval.",
        discussion: """
            eval "$(speedo dev env)" sets and exports both, so kcat -b "$SPEEDO_BROKERS" and \
            psql "$SPEEDO_DATABASE_URL" reach the local stack. Exits 69 when the stack is not running.
            """
    )

    func run() throws {
        let stack = DevStack.located(environment: ProcessInfo.processInfo.environment)
        guard let endpoints = stack.runningEndpoints() else {
            throw CommandFailure(.unavailable, "the dev stack is not running; start it with `speedo dev up`")
        }
        print("SPEEDO_BROKERS=\(shellQuoted(endpoints.brokers))")
        print("SPEEDO_DATABASE_URL=\(shellQuoted(endpoints.databaseURL))")
        print("export SPEEDO_BROKERS SPEEDO_DATABASE_URL")
    }

    private func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
