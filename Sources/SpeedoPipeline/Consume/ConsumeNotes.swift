import SpeedoKafka
import SpeedoRuntime

/// How the consume commands say on stderr what their `ConsumerLoop` says: the startup wait in the words every command
/// uses for it, broker trouble once per distinct problem.
enum ConsumeNotes {
    static func printer(command: String, notes: Notes) -> (ConsumerLoopNotice) -> Void {
        { notice in
            switch notice {
            case .waitingForBrokers: notes.note("speedo \(command): \(notice)")
            case .brokerTrouble: notes.note("speedo: \(notice)")
            }
        }
    }
}
