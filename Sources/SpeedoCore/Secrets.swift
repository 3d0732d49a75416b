/// What must never be shown: passwords in connection strings and the values of secret librdkafka properties.
/// Every place that prints a setting (errors, `status`, `config show`) masks through here.
package enum Secrets {
    package static let mask = "***"

    /// librdkafka properties whose values are credentials (its CONFIGURATION.md marks them sensitive), and any
    /// property whose name says password or secret, so that a mistyped key is masked too.
    package static func isSecretKafkaProperty(_ key: String) -> Bool {
        let name = key.lowercased()
        return name.contains("passw") || name.contains("secret")
            || ["ssl.key.pem", "ssl_key", "sasl.oauthbearer.config"].contains(name)
    }

    /// `key=value` as it may be shown.
    package static func shownKafkaProperty(_ key: String, _ value: String) -> String {
        "\(key)=\(isSecretKafkaProperty(key) ? mask : value)"
    }
}

/// Connection strings as users write them: URLs or `key=value` lists.
package enum ConnectionString {
    /// The text with every password replaced by `***`: the user-info password of URLs
    /// (`postgresql://u:secret@h/db`), `password=` query parameters and `password=` keywords.
    package static func redacting(_ text: String) -> String {
        var result = redactURLPasswords(text)
        result = redactKeyword(result)
        return result
    }

    private static func redactURLPasswords(_ text: String) -> String {
        rewriting(text, after: "://") { rest in
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == " " } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
                return ("", rest)
            }
            return (String(authority[...colon] + "***" + authority[at...]), rest[authorityEnd...])
        }
    }

    /// `password=secret`, `password = 'se cret'`, `?password=secret&…`.
    private static func redactKeyword(_ text: String) -> String {
        rewriting(text, after: "password") { rest in
            let spaces = rest.prefix { $0 == " " }
            guard rest.dropFirst(spaces.count).first == "=" else { return ("", rest) }
            var value = rest.dropFirst(spaces.count + 1)
            let leading = value.prefix { $0 == " " }
            value = value.dropFirst(leading.count)
            let written = String(spaces + "=" + leading + "***")
            guard value.first == "'" else { return (written, value.drop { $0 != " " && $0 != "&" }) }
            var index = value.index(after: value.startIndex)
            while index < value.endIndex {
                if value[index] == "\\" {
                    index = value.index(index, offsetBy: 2, limitedBy: value.endIndex) ?? value.endIndex
                    continue
                }
                if value[index] == "'" { index = value.index(after: index); break }
                index = value.index(after: index)
            }
            return (written, value[index...])
        }
    }

    /// `text` with what follows each `marker` rewritten: `redact` gets the text after the marker and returns what to
    /// write in place of the part it consumed, and the rest, which is searched on.
    private static func rewriting(
        _ text: String, after marker: String, _ redact: (Substring) -> (written: String, rest: Substring)
    ) -> String {
        var output = ""
        var rest = Substring(text)
        while let found = rest.range(of: marker) {
            output += rest[..<found.upperBound]
            let (written, remaining) = redact(rest[found.upperBound...])
            output += written
            rest = remaining
        }
        return output + rest
    }
}
