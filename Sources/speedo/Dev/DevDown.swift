import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct DevDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the local broker and PostgreSQL.",
        discussion: "The broker's records are lost (it keeps them in memory); PostgreSQL's data stays for the next `dev up`."
    )

    func run() throws {
        let stack = DevStack.located(environment: ProcessInfo.processInfo.environment)
        switch stack.brokerState() {
        case .running(let record):
            stack.stopBroker(record)
            print("broker    stopped   (pid \(record.pid))")
        case .stale:
            stack.removeBrokerRecord()
            print("broker    was not running (removed a stale record)")
        case .stopped:
            print("broker    was not running")
        }
        let postgres = try stack.postgres()
        if case .running = postgres.status() {
            try postgres.stop()
            print("postgres  stopped   (data kept in \(postgres.directory))")
        } else {
            print("postgres  was not running")
        }
    }
}
