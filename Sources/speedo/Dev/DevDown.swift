import ArgumentParser
import Foundation
import SpeedoPipeline

struct DevDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the local broker and PostgreSQL.",
        discussion: "The broker's records are lost (it keeps them in memory); PostgreSQL's data stays for the next `dev up`."
    )

    func run() throws {
        for line in try DevStack.located(environment: ProcessInfo.processInfo.environment).bringDown() { print(line) }
    }
}
