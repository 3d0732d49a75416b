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
        var output = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            output += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == " " } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                output += authority[...colon] + "***" + authority[at...]
            } else {
                output += authority
            }
            rest = rest[authorityEnd...]
        }
        return output + rest
    }

    /// `password=secret`, `password = 'se cret'`, `?password=secret&…`.
    private static func redactKeyword(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let keyword = rest.range(of: "password") {
            output += rest[..<keyword.upperBound]
            rest = rest[keyword.upperBound...]
            let spaces = rest.prefix { $0 == " " }
            guard rest.dropFirst(spaces.count).first == "=" else { continue }
            rest = rest.dropFirst(spaces.count + 1)
            let leading = rest.prefix { $0 == " " }
            rest = rest.dropFirst(leading.count)
            output += spaces + "=" + leading + "***"
            if rest.first == "'" {
                var index = rest.index(after: rest.startIndex)
                while index < rest.endIndex {
                    if rest[index] == "\\" {
                        index = rest.index(index, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex
                        continue
                    }
                    if rest[index] == "'" { index = rest.index(after: index); break }
                    index = rest.index(after: index)
                }
                rest = rest[index...]
            } else {
                rest = rest.drop { $0 != " " && $0 != "&" }
            }
        }
        return output + rest
    }
}
