import ArgumentParser
import Foundation
import SpeedoPipeline

struct DevUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the local broker and PostgreSQL; harmless when they already run.",
        discussion: "Repairs what a crash or a reboot left behind, and brings the database schema up to date."
    )

    func run() throws {
        let stack = DevStack.located(environment: ProcessInfo.processInfo.environment)
        for line in try stack.bringUp(notes: .standardError) { print(line) }
        print("state     \(stack.directory)")
        print("")
        print("Use it from your shell with: eval \"$(speedo dev env)\"; stop it with: speedo dev down")
    }
}
