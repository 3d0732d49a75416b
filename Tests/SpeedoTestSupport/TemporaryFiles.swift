package import Foundation

/// A new directory under the system's temporary directory, which the caller removes; world-traversable, so that an
/// unprivileged user (PostgreSQL, when the tests run as root) can reach what is inside.
package func makeTemporaryDirectory(prefix: String = "speedo-test") throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    return path
}

/// A directory for one test, removed with everything in it when the value is released.
package final class TemporaryDirectory: Sendable {
    package let path: String

    /// `owner`: the user the directory is handed to (as root, for a program that runs as that user).
    package init(prefix: String = "speedo-test", owner: String? = nil) throws {
        path = try makeTemporaryDirectory(prefix: prefix)
        if let owner {
            try FileManager.default.setAttributes([.ownerAccountName: owner], ofItemAtPath: path)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// An empty file for one test (a child's output, so that large outputs never block on a full pipe, or an input),
/// open for writing and removed when the value is released.
package final class TemporaryFile {
    package let path: String
    package let handle: FileHandle

    package init() throws {
        path = NSTemporaryDirectory() + "speedo-test-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    package func contents() -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
