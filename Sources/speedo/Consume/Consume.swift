import ArgumentParser
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

/// `speedo consume <sink>`: one subcommand per place the readings topic is written to.
struct Consume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read the readings topic and write it somewhere: PostgreSQL, the latest state per sensor, standard output.",
        subcommands: [ConsumePostgres.self, ConsumeLatest.self, ConsumeStdout.self]
    )
}

extension KafkaClientOptions {
    /// What every consume command starts with: the loop's settings for `topic` read with `kafka`, and the watcher that
    /// turns SIGINT/SIGTERM into a clean stop, or exits 130 saying `consequence` once a stop hangs.
    func consuming(
        _ kafka: KafkaConfiguration, topic: String, exitAtEnd: Bool, consequence: String
    ) throws -> (ConsumeSettings, InterruptWatcher) {
        let interrupts = InterruptWatcher(stopDeadline: StopDeadline(exitCode: .interrupted, consequence: consequence))
        let settings = ConsumeSettings(
            kafka: kafka, topic: topic, exitAtEnd: exitAtEnd, connectTimeout: try startupWait(), stop: interrupts.stop,
            notes: .standardError)
        return (settings, interrupts)
    }
}
