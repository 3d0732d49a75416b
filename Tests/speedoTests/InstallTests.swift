import Foundation
import SpeedoTestSupport
import Testing

/// `make install`'s script and the unit files of dist/systemd, as an operator meets them: the installed tree answers
/// `speedo --version`, `man speedo` and the shells' completions where they look; the units are valid for systemd and
/// start commands that exist.
@Suite(.programTurns) struct InstallTests {
    private static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theInstalledTreeAnswersWhereEachPartIsLookedFor() async throws {
        let destdir = try TemporaryDirectory()
        let install = try await runProgram(
            [Self.checkout.appendingPathComponent("scripts/install.sh").path, SpeedoBinary.path, "/usr", destdir.path])
        try #require(install.status == 0, "\(install.stderr)")
        let root = destdir.path + "/usr"

        let version = try await runProgram([root + "/bin/speedo", "--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0."), "\(version.stdout)\(version.stderr)")

        // man finds the page by name under the tree's man directory, EXIT STATUS and all.
        let manual = try await runProgram(["man", "-M", root + "/share/man", "speedo"], environment: ["MANPAGER": "cat", "MANWIDTH": "100"])
        #expect(manual.status == 0, "\(manual.stderr)")
        #expect(manual.stdout.contains("EXIT STATUS") && manual.stdout.contains("records not confirmed delivered"), "\(manual.stdout.suffix(600))")

        // bash-completion sources completions/speedo; the function it defines completes subcommands.
        let bash = try await runProgram([
            "bash", "-c",
            "source \"$1\" && complete -p speedo && COMP_WORDS=(speedo con) COMP_CWORD=1 && "
                + "$(complete -p speedo | sed -n 's/.*-F \\([^ ]*\\) speedo$/\\1/p') && printf '%s\\n' \"${COMPREPLY[@]}\"",
            "_", root + "/share/bash-completion/completions/speedo",
        ])
        #expect(bash.status == 0, "\(bash.stderr)")
        #expect(bash.stdout.split(separator: "\n").contains("consume"), "\(bash.stdout)")

        // zsh autoloads _speedo from site-functions; fish reads vendor_completions.d.
        let zsh = try String(contentsOfFile: root + "/share/zsh/site-functions/_speedo", encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef speedo\n"))
        #expect(FileManager.default.fileExists(atPath: root + "/share/fish/vendor_completions.d/speedo.fish"))

        let relative = try await runProgram([Self.checkout.appendingPathComponent("scripts/install.sh").path, SpeedoBinary.path, "usr/local"])
        #expect(relative.status == 64 && relative.stderr.contains("PREFIX must be an absolute path"), "\(relative.stderr)")
    }

    /// The release binary `make test` builds (`make release`) before the tests run.
    private static let releaseBinary = checkout.appendingPathComponent(".build/release/speedo").path

    /// `make deb`: the package holds the stripped binary, the man page, the completions and the units, depends on the
    /// packages of exactly the libraries the binary links, and, unpacked into a scratch root, its binary runs, man
    /// finds its page and bash its completion. The debug binary, which needs the toolchain's Swift runtime, is
    /// refused.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: releaseBinary), "needs make release"))
    func theDebianPackageHoldsEverythingAndRunsWhereItIsUnpacked() async throws {
        let output = try TemporaryDirectory()
        let script = Self.checkout.appendingPathComponent("scripts/make-deb.sh").path
        let built = try await runProgram([script, Self.releaseBinary, output.path], timeout: .seconds(300))
        try #require(built.status == 0, "\(built.stderr)")
        let package = built.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(package.hasSuffix(".deb"))

        let info = try await runProgram(["dpkg-deb", "--field", package, "Package", "Depends"])
        #expect(info.stdout.hasPrefix("Package: speedo\n"), "\(info.stdout)")
        for library in ["librdkafka1", "libpq5", "libncursesw6", "libc6", "passwd"] {
            #expect(info.stdout.contains(" \(library)"), "Depends lacks \(library): \(info.stdout)")
        }
        #expect(!info.stdout.contains("swift"), "\(info.stdout)")
        let contents = try await runProgram(["dpkg-deb", "--contents", package])
        for path in [
            "./usr/bin/speedo", "./usr/share/man/man1/speedo.1.gz", "./usr/share/bash-completion/completions/speedo",
            "./usr/share/zsh/site-functions/_speedo", "./usr/share/fish/vendor_completions.d/speedo.fish",
            "./lib/systemd/system/speedo-consume-postgres.service", "./lib/systemd/system/speedo-gateway.service",
            "./usr/share/doc/speedo/speedo.env.example", "./usr/share/doc/speedo/config.example.yaml",
        ] {
            #expect(contents.stdout.contains(" \(path)\n"), "\(path) missing from the package")
        }
        #expect(contents.stdout.contains("root/root"), "files not owned by root")
        let postinst = try await runProgram(["bash", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar -xO ./postinst | sh -n && echo ok", "_", package])
        #expect(postinst.stdout == "ok\n", "\(postinst.stderr)")

        let root = try TemporaryDirectory()
        let unpacked = try await runProgram(["dpkg-deb", "--extract", package, root.path])
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        let version = try await runProgram([root.path + "/usr/bin/speedo", "--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0."), "\(version.stderr)")
        let simulated = try await runProgram([root.path + "/usr/bin/speedo", "simulate", "--sensors", "1", "--count", "3", "--stdout", "--seed", "1"])
        #expect(simulated.status == 0 && simulated.stdout.split(separator: "\n").count == 3, "\(simulated.stderr)")
        let manual = try await runProgram(
            ["man", "-M", root.path + "/usr/share/man", "speedo"], environment: ["MANPAGER": "cat", "MANWIDTH": "100"])
        #expect(manual.stdout.contains("EXIT STATUS"), "\(manual.stderr)")
        let bash = try await runProgram([
            "bash", "-c", "source \"$1\" && complete -p speedo", "_", root.path + "/usr/share/bash-completion/completions/speedo",
        ])
        #expect(bash.status == 0 && bash.stdout.contains("speedo"), "\(bash.stderr)")

        let debug = try await runProgram([script, SpeedoBinary.path, output.path])
        #expect(debug.status == 65 && debug.stderr.contains("package the release binary"), "\(debug.stderr)")
    }

    /// Every unit passes `systemd-analyze verify` (run against the built binary), restarts on failure, runs as the
    /// speedo user with the sandboxing on, and starts a command line speedo accepts.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func theUnitsAreValidAndStartCommandsThatExist() async throws {
        let units = try FileManager.default.contentsOfDirectory(atPath: Self.checkout.appendingPathComponent("dist/systemd").path)
            .filter { $0.hasSuffix(".service") }.sorted()
        #expect(units == [
            "speedo-consume-latest.service", "speedo-consume-postgres.service", "speedo-gateway.service",
            "speedo-ingest.service",
        ])
        let scratch = try TemporaryDirectory()
        for unit in units {
            let text = try String(contentsOf: Self.checkout.appendingPathComponent("dist/systemd/" + unit), encoding: .utf8)
            for line in ["Restart=on-failure", "User=speedo", "NoNewPrivileges=yes", "ProtectSystem=strict",
                         "EnvironmentFile=-/etc/speedo/speedo.env"] {
                #expect(text.contains("\n" + line + "\n"), "\(unit) lacks \(line)")
            }
            let copy = scratch.path + "/" + unit
            try text.replacingOccurrences(of: "ExecStart=/usr/bin/speedo ", with: "ExecStart=\(SpeedoBinary.path) ")
                .write(toFile: copy, atomically: true, encoding: .utf8)
            let verified = try await runProgram(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no", copy])
            #expect(verified.status == 0 && verified.stderr.isEmpty, "\(unit): \(verified.stderr)")

            // The command line parses: --help after it is answered by that very subcommand.
            let execStart = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=/usr/bin/speedo ") })
            let arguments = execStart.dropFirst("ExecStart=/usr/bin/speedo ".count).split(separator: " ").map(String.init)
            let help = try await SpeedoBinary().run(arguments + ["--help"])
            #expect(help.status == 0, "\(unit): \(help.stderr)")
            #expect(help.stdout.contains("USAGE: speedo \(arguments.prefix(2).joined(separator: " "))".prefix(20)), "\(unit)")
        }
    }
}
