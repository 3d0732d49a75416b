import Glibc
import HTTPTypes
import SpeedoCore
import SpeedoRuntime

/// Which `Host` a server answers for and which browser pages (`Origin`) may talk to it: the defence against DNS
/// rebinding, where a page of evil.example, its name re-pointed at this machine, reaches a server on loopback or on
/// the local network. Such a request carries `Host: evil.example`.
///
/// A Host is accepted when it is an IP address (a page can reach one only under that address, which no attacker's
/// name resolves to), a localhost name, the host given to --listen, or a name given with --allow-host (`*`: any,
/// for servers behind a proxy that checks names itself). A request without Host (HTTP/1.0) is not from a browser.
///
/// An Origin is accepted when absent (not a browser), ws:// or wss:// (WebSocket libraries; no page has that origin),
/// the request's own Host (a page this server served: the Host was checked above) or given with --allow-origin.
package struct HTTPHostPolicy: Sendable, Equatable {
    /// Lower case, without brackets or a trailing dot.
    package let listenHost: String
    /// `--allow-host`, lower case.
    package let allowedHosts: Set<String>
    /// `--allow-origin`, lower case, without trailing slash.
    package let allowedOrigins: Set<String>

    package init(listenHost: String, allowedHosts: [String] = [], allowedOrigins: [String] = []) {
        self.listenHost = Self.normalisedHost(listenHost)
        self.allowedHosts = Set(allowedHosts.map(Self.normalisedHost))
        self.allowedOrigins = Set(allowedOrigins.map(Self.normalisedOrigin))
    }

    /// nil when the request may proceed; otherwise 421 for a Host, 403 for an Origin, each naming the option that
    /// would let it in.
    package func refusal(host: String?, origin: String?) -> HTTPRefusal? {
        if let host, !answers(forHost: host) {
            return HTTPRefusal(
                status: .misdirectedRequest, code: "host-not-allowed",
                message: "this server does not answer for Host \(EscapedText.quoted(host)): it answers for IP addresses, "
                    + "localhost, its --listen host and names given with --allow-host (a guard against DNS rebinding); "
                    + "start it with --allow-host \(EscapedText.escape(Self.hostName(host))) if that name is meant to reach it")
        }
        guard let origin else { return nil }
        let normalised = Self.normalisedOrigin(origin)
        if normalised.hasPrefix("ws://") || normalised.hasPrefix("wss://") || allowedOrigins.contains(normalised) {
            return nil
        }
        if let host, let originHost = normalised.split(separator: "://", maxSplits: 1).dropFirst().first,
            originHost == host.lowercased()
        {
            return nil
        }
        let allowed = allowedOrigins.isEmpty
            ? "only pages served by this server may"
            : "the server allows its own pages and " + allowedOrigins.sorted().joined(separator: ", ")
        return HTTPRefusal(
            status: .forbidden, code: "origin-not-allowed",
            message: "pages from \(EscapedText.quoted(origin)) may not use this server: \(allowed); start it with "
                + "--allow-origin \(EscapedText.escape(origin)) to let that site in")
    }

    private func answers(forHost host: String) -> Bool {
        let name = Self.normalisedHost(Self.hostName(host))
        return allowedHosts.contains("*") || allowedHosts.contains(name) || name == listenHost
            || name == "localhost" || name.hasSuffix(".localhost") || Self.isIPAddress(name)
    }

    /// The host of a Host header, without its port: `[::1]:8080` → `::1`, `example.com:80` → `example.com`.
    private static func hostName(_ host: String) -> String {
        if host.hasPrefix("[") {
            return String(host.dropFirst().prefix { $0 != "]" })
        }
        guard let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon else { return host }
        return String(host[..<colon])
    }

    private static func normalisedHost(_ host: String) -> String {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private static func normalisedOrigin(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    package static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// 0.0.0.0, :: and the like: every interface of the machine.
    package static func isWildcard(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return v4.s_addr == 0 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { $0.allSatisfy { $0 == 0 } }
        }
        return host.isEmpty || host == "*"
    }
}

