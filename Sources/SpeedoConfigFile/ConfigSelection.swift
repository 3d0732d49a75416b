import Foundation
package import SpeedoCore

/// The configuration file and profile a command runs with, each with where the choice came from.
package struct ConfigSelection: Sendable, Equatable {
    package var file: ConfigFile?
    package var fileSource: SettingSource?
    package var profile: ConfigFile.Profile?
    package var profileSource: SettingSource?

    package static let none = ConfigSelection()

    /// File: `--config`, `SPEEDO_CONFIG`, `$XDG_CONFIG_HOME/speedo/config.yaml` (`~/.config` when unset), then
    /// `/etc/speedo/config.yaml` (`.yml` too); a file named by the option or the variable must exist, the others are
    /// optional. Profile: `--profile`, `SPEEDO_PROFILE`, then the file's `default-profile`; none when none is named.
    package static func select(
        configFlag: String?, profileFlag: String?, environment: [String: String],
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
        read: (String) throws(ConfigurationError) -> ConfigFile = ConfigFile.read
    ) throws(ConfigurationError) -> ConfigSelection {
        func named(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

        var selection = ConfigSelection()
        let located: (path: String, source: SettingSource)? =
            if let configFlag { (configFlag, .flag("--config")) }
            else if let path = named("SPEEDO_CONFIG") { (path, .environment("SPEEDO_CONFIG")) }
            else { searchPath(environment: environment).first(where: fileExists).map { ($0, .builtInDefault) } }
        if let located {
            selection.file = try read(located.path)
            selection.fileSource = located.source
        }

        let wanted: (name: String, source: SettingSource)? =
            if let profileFlag { (profileFlag, .flag("--profile")) }
            else if let name = named("SPEEDO_PROFILE") { (name, .environment("SPEEDO_PROFILE")) }
            else { selection.file?.defaultProfile.map { ($0.value, .configurationKey("default-profile", $0.position)) } }
        guard let wanted else { return selection }
        guard let file = selection.file else {
            throw ConfigurationError(
                code: .configurationFile,
                message: "profile \(EscapedText.quoted(wanted.name)) (from \(wanted.source)) needs a configuration file, "
                    + "and there is none at \(searchPath(environment: environment).joined(separator: " or ")); "
                    + "name one with --config FILE or SPEEDO_CONFIG")
        }
        guard let profile = file.profile(named: wanted.name) else {
            let names = file.profiles.map(\.settings.name)
            let close = Suggestions.closest(to: wanted.name, among: names)
            throw ConfigurationError(
                code: .configurationFile,
                message: "no profile \(EscapedText.quoted(wanted.name)) (from \(wanted.source)) in \(file.path)"
                    + (close.isEmpty ? "" : " (did you mean \(close.map { EscapedText.quoted($0) }.joined(separator: " or "))?)")
                    + (names.isEmpty ? "; the file has no profiles" : "; its profiles: \(names.joined(separator: ", "))"))
        }
        (selection.profile, selection.profileSource) = (profile, wanted.source)
        return selection
    }

    /// Where a configuration file is looked for when none is named, in order.
    package static func searchPath(environment: [String: String]) -> [String] {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        let userDirectory = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home.map { $0 + "/.config" }
        return ([userDirectory.map { $0 + "/speedo" }, "/etc/speedo"] as [String?]).compactMap { $0 }.flatMap { directory in
            ["config.yaml", "config.yml"].map { "\(directory)/\($0)" }
        }
    }
}
