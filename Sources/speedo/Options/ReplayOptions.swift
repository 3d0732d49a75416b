import ArgumentParser
import SpeedoPipeline

extension ReplayTarget: ExpressibleByArgument {
    init?(argument: String) {
        switch argument {
        case "stdout": self = .standardOutput
        case "postgres": self = .postgres
        default:
            guard argument.hasPrefix("topic:"), argument.count > "topic:".count else { return nil }
            self = .topic(String(argument.dropFirst("topic:".count)))
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .standardOutput: "stdout"
        case .postgres: "postgres"
        case .topic(let name): "topic:\(name)"
        }
    }

    static var allValueStrings: [String] { ["stdout", "postgres", "topic:NAME"] }
}

extension ReplayPace: ExpressibleByArgument {
    init?(argument: String) {
        if argument == "max" {
            self = .asFastAsPossible
            return
        }
        // Any number here; `Replay.validate()` says which are too slow or too fast.
        guard argument.hasSuffix("x"), let factor = Double(argument.dropLast()) else { return nil }
        self = .recorded(speedUp: factor)
    }

    var defaultValueDescription: String {
        switch self {
        case .asFastAsPossible: "max"
        case .recorded(let factor): "\(factor)x"
        }
    }

    static var allValueStrings: [String] { ["max", "1x", "10x"] }
}
