import ArgumentParser
import Foundation
import SpeedoPipeline
import SpeedoRuntime

struct DevStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Say what of the local stack runs.",
        discussion: "Exits 0 when the broker and PostgreSQL both run, 69 otherwise."
    )

    func run() throws {
        let (lines, allRunning) = try DevStack.located(environment: ProcessInfo.processInfo.environment).statusLines()
        for line in lines { print(line) }
        if !allRunning {
            throw ExitCode(SpeedoExitCode.unavailable.rawValue)
        }
    }
}
