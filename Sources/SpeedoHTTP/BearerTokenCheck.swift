import Foundation
import Glibc
import SpeedoRuntime

/// `--token-file`: requests must carry the token as `Authorization: Bearer <token>` (or, where a client cannot set
/// headers, as a `token` query parameter the caller passes on).
package struct BearerTokenCheck: Sendable {
    /// nil: no authentication.
    package let token: String?

    package init(token: String?) {
        self.token = token
    }

    /// `--token-file`, read now (a usage error when it cannot be: `token(fromFile:)`); nil: no authentication.
    package init(tokenFile path: String?) throws {
        self.init(token: try path.map(Self.token(fromFile:)))
    }

    /// No token asked for.
    package static let none = BearerTokenCheck(token: nil)

    package var isRequired: Bool { token != nil }

    /// nil when the request may proceed.
    package func refusal(authorization: String?, queryToken: Substring? = nil) -> HTTPRefusal? {
        guard let token else { return nil }
        let given: Substring
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return invalid }
            given = parts[1]
        } else if let queryToken {
            given = queryToken
        } else {
            return HTTPRefusal(
                status: .unauthorized, code: "unauthorized",
                message: "this server needs a bearer token: send Authorization: Bearer <token>",
                headers: [.wwwAuthenticate: #"Bearer realm="speedo""#])
        }
        return Self.constantTimeEquals(Array(given.utf8), Array(token.utf8)) ? nil : invalid
    }

    private var invalid: HTTPRefusal {
        HTTPRefusal(
            status: .unauthorized, code: "unauthorized", message: "the bearer token is not valid for this server",
            headers: [.wwwAuthenticate: #"Bearer realm="speedo", error="invalid_token""#])
    }

    /// Takes as long for a token that differs in its first byte as for one that differs in its last.
    private static func constantTimeEquals(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

extension BearerTokenCheck {
    /// Reads `--token-file`: the file's content, trimmed, which must be printable ASCII without spaces.
    package static func token(fromFile path: String) throws -> String {
        let token = try tokenFileText(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw CommandFailure(.usage, "the token file \(path) is empty; put the bearer token clients must send in it")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CommandFailure(.usage, "the token in \(path) has spaces or non-ASCII characters; use a token of printable ASCII")
        }
        return token
    }

    /// A token is a line or two: more than this is not a token file (e.g. /dev/zero or a log), and is not read on.
    private static let largestTokenFile = 64 << 10

    /// The file's text, or a usage error that says what is wrong with it (missing, a directory, unreadable, too big).
    private static func tokenFileText(_ path: String) throws -> String {
        func refuse(_ problem: String) -> CommandFailure {
            CommandFailure(.usage, "--token-file \(path): \(problem); give a file that holds the bearer token clients must send")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason = errno
            switch reason {
            case ENOENT: throw refuse("there is no such file")
            case EACCES: throw refuse("this user (uid \(getuid())) may not read it")
            default: throw refuse("it cannot be opened (\(String(cString: strerror(reason))))")
            }
        }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR: throw refuse("it is a directory")
            case S_IFREG: break
            default: throw refuse("it is not a regular file")
            }
        }
        var bytes = [UInt8](repeating: 0, count: largestTokenFile + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw refuse("it cannot be read (\(String(cString: strerror(errno))))")
            }
            filled += count
        }
        guard filled <= largestTokenFile else { throw refuse("it is larger than \(largestTokenFile / 1024) KiB") }
        return String(decoding: bytes[..<filled], as: UTF8.self)
    }
}
