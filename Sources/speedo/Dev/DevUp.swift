import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
import SpeedoStore

struct DevUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the local broker and PostgreSQL; harmless when they already run.",
        discussion: "Repairs what a crash or a reboot left behind, and brings the database schema up to date."
    )

    func run() throws {
        let stack = DevStack.located(environment: ProcessInfo.processInfo.environment)
        let broker = try bringUpBroker(stack)
        let postgres = try bringUpPostgres(stack)
        print(broker)
        print(postgres)
        print("state     \(stack.directory)")
        print("")
        print("Use it from your shell with: eval \"$(speedo dev env)\"; stop it with: speedo dev down")
    }

    private func bringUpBroker(_ stack: DevStack) throws -> String {
        switch stack.brokerState() {
        case .running(let record):
            return "broker    running   \(record.bootstrapServers) (mock Kafka cluster, pid \(record.pid))"
        case .stale(let record):
            Terminal.note("speedo: the dev broker recorded as pid \(record.pid) is gone; starting a new one")
            fallthrough
        case .stopped:
            let previousAddress = stack.rememberedBrokerPort().map(DevStack.brokerAddress(port:))
            let record = try stack.startBroker()
            if let previousAddress, previousAddress != record.bootstrapServers {
                Terminal.note(
                    "speedo: the dev broker's address changed from \(previousAddress) to \(record.bootstrapServers): "
                        + "another process took the old port (see \(stack.brokerLogPath)); give clients the new one "
                        + "(eval \"$(speedo dev env)\")")
            }
            return "broker    started   \(record.bootstrapServers) (mock Kafka cluster, pid \(record.pid), records kept in memory)"
        }
    }

    private func bringUpPostgres(_ stack: DevStack) throws -> String {
        let postgres = try stack.postgres()
        let before = postgres.status()
        if case .stopped(let stalePID?) = before {
            Terminal.note("speedo: the dev PostgreSQL recorded as pid \(stalePID) is gone; starting it again")
        }
        try postgres.start()
        let connection = try PostgresConnection.connect(postgres.connectionURL)
        let report = try SchemaMigrations.apply(on: connection)
        let schema = report.applied.isEmpty
            ? "schema v\(report.currentVersion)" : "schema migrated to v\(report.currentVersion)"
        let verb = if case .running = before { "running " } else { "started " }
        return "postgres  \(verb)  \(postgres.connectionURL) (\(schema))"
    }
}
