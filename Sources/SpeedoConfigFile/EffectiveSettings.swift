package import SpeedoCore

/// What `speedo config show` prints: every setting in effect, where it came from, passwords masked.
package enum EffectiveSettings {
    /// `searchPath`: where a configuration file was looked for, to say so when there is none.
    package static func render(selection: ConfigSelection, settings: ConnectionSettings, searchPath: [String]) -> [String] {
        var rows: [(String, String)] = []
        if let file = selection.file, let source = selection.fileSource {
            rows.append(("configuration file", "\(file.path) (from \(source == .builtInDefault ? "search path" : "\(source)"))"))
        } else {
            rows.append(("configuration file", "none (looked for \(searchPath.joined(separator: ", ")))"))
        }
        if let profile = selection.profile, let source = selection.profileSource {
            rows.append(("profile", "\(profile.settings.name) (from \(source))"))
        } else {
            rows.append(("profile", "none"))
        }
        rows.append(("brokers", "\(settings.brokers.value) (from \(settings.brokers.origin))"))
        rows.append(("topic", "\(settings.topic.value) (from \(settings.topic.origin))"))
        let database = settings.databaseURL.value.isEmpty ? "libpq decides" : ConnectionString.redacting(settings.databaseURL.value)
        rows.append(("database-url", "\(database) (from \(settings.databaseURL.origin))"))
        for property in settings.kafkaProperties {
            let origin = property.secretFile.map { "\(property.source), read from \($0)" } ?? "\(property.source)"
            rows.append(("-X \(property.key)", "\(property.shown.dropFirst(property.key.count + 1)) (from \(origin))"))
        }
        for command in selection.profile?.commands ?? [] {
            for option in command.options {
                let value = option.isList ? "[\(option.values.joined(separator: ", "))]" : option.values[0]
                let source = SettingSource.profile(selection.profile!.settings.name, option.position)
                rows.append(("\(command.command) --\(option.name)", "\(value) (from \(source))"))
            }
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { name, value in name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value }
    }
}
