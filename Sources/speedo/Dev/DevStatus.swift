import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct DevStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Say what of the local stack runs.",
        discussion: "Exits 0 when the broker and PostgreSQL both run, 69 otherwise."
    )

    func run() throws {
        let stack = DevStack.located(environment: ProcessInfo.processInfo.environment)
        var allRunning = true
        switch stack.brokerState() {
        case .running(let record):
            let answering = TCPProbe.accepts(record.bootstrapServers) ? "" : ", NOT accepting connections"
            print("broker    running   \(record.bootstrapServers) (pid \(record.pid)\(answering))")
            if let mock = record.mockBootstrapServers {
                print("          the same address after every restart; forwarded to the mock cluster at \(mock)")
            }
            print("          in memory: keeps 5 MiB or 100,000 record batches per partition and drops the oldest "
                + "beyond that, as retention would: about 38,000 readings sent one per batch (10.5 hours of a sensor at 1 Hz "
                + "alone in its partition, as each of the demo's 20 is)")
        case .stale(let record):
            allRunning = false
            print("broker    stopped   (stale record of pid \(record.pid); `speedo dev up` repairs it)")
        case .stopped:
            allRunning = false
            print("broker    stopped")
        }
        let postgres = try stack.postgres()
        switch postgres.status() {
        case .running(let pid):
            print("postgres  running   \(postgres.connectionURL) (pid \(pid))")
        case .stopped(let stalePID?):
            allRunning = false
            print("postgres  stopped   (stale record of pid \(stalePID); `speedo dev up` repairs it)")
        case .stopped(nil):
            allRunning = false
            print("postgres  stopped")
        case .notInitialized:
            allRunning = false
            print("postgres  not created yet")
        }
        print("state     \(stack.directory)")
        if !allRunning {
            throw ExitCode(SpeedoExitCode.unavailable.rawValue)
        }
    }
}
