import SpeedoHTTP
import SpeedoPipeline
import SpeedoRuntime
import Testing

@Suite struct HTTPHostPolicyTests {
    @Test func hostsAnsweredFor() {
        let loopback = HTTPHostPolicy(listenHost: "127.0.0.1")
        for host in ["127.0.0.1:9000", "127.0.0.1", "[::1]:9000", "192.168.1.20:80", "localhost:9000", "LocalHost.", "app.localhost"] {
            #expect(loopback.refusal(host: host, origin: nil) == nil, "\(host) refused")
        }
        for host in ["evil.example", "evil.example:9000", "127.0.0.1.evil.example", "localhost.evil.example"] {
            #expect(loopback.refusal(host: host, origin: nil)?.status == .misdirectedRequest, "\(host) let in")
        }
        #expect(loopback.refusal(host: nil, origin: nil) == nil, "HTTP/1.0 without Host")

        let named = HTTPHostPolicy(listenHost: "speedo.internal", allowedHosts: ["Dash.Example"])
        #expect(named.refusal(host: "speedo.internal:8080", origin: nil) == nil)
        #expect(named.refusal(host: "dash.example", origin: nil) == nil)
        #expect(named.refusal(host: "other.example", origin: nil) != nil)

        let wildcard = HTTPHostPolicy(listenHost: "0.0.0.0")
        #expect(wildcard.refusal(host: "0.0.0.0", origin: nil) == nil)
        #expect(wildcard.refusal(host: "evil.example", origin: nil) != nil, "listening everywhere does not mean any name")
        #expect(HTTPHostPolicy(listenHost: "::", allowedHosts: ["*"]).refusal(host: "evil.example", origin: nil) == nil)
    }

    @Test func originsAllowed() {
        let policy = HTTPHostPolicy(listenHost: "127.0.0.1", allowedOrigins: ["https://dash.example/"])
        #expect(policy.refusal(host: "127.0.0.1:9000", origin: "http://127.0.0.1:9000") == nil, "its own page")
        #expect(policy.refusal(host: "127.0.0.1:9000", origin: "https://DASH.example") == nil)
        #expect(policy.refusal(host: "127.0.0.1:9000", origin: "ws://127.0.0.1:9000") == nil, "a WebSocket library")
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9001", "https://dash.example.evil"] {
            let refusal = policy.refusal(host: "127.0.0.1:9000", origin: origin)
            #expect(refusal?.status == .forbidden, "\(origin) let in")
            #expect(refusal?.message.contains("--allow-origin") == true)
        }
    }

    @Test func wildcardAddresses() {
        for host in ["0.0.0.0", "::", "0:0:0:0:0:0:0:0"] { #expect(HTTPHostPolicy.isWildcard(host), "\(host)") }
        for host in ["127.0.0.1", "::1", "localhost", "192.168.1.1"] { #expect(!HTTPHostPolicy.isWildcard(host), "\(host)") }
    }
}
