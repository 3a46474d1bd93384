import Foundation
import Testing

/// Security: the configuration is trusted only if nobody else can write it, the debug
/// log cannot be redirected, no shell is ever run, and output cannot be forged.
@Suite("Security")
struct SecurityTests {
    @Test("state-changing commands refuse a configuration writable by others or owned by someone else",
          .enabled(if: getuid() == 0, "needs root to chown"))
    func configOwnership() throws {
        let site = try Site("owner")
        let conf = site.path("o.conf")
        try "key=bac001\n".write(toFile: conf, atomically: true, encoding: .utf8)
        chmod(conf, 0o644)
        #expect(try CLI.run(["-c", conf, site.drive, "register"]).status == 0)
        chmod(conf, 0o620)
        try CLI.run(["-c", conf, site.drive, "lock"]).expectOneErrorLine(2, contains: "refusing a configuration writable by group or others")
        chmod(conf, 0o600)
        chown(conf, 65534, 65534)
        try CLI.run(["-c", conf, site.drive, "unlock"]).expectOneErrorLine(2, contains: "refusing a configuration owned by uid 65534")
        // read-only commands still work with it
        #expect(try CLI.run(["-c", conf, site.drive, "regkeys"]).status == 0)
    }

    @Test("debug_file: created mode 0640, one line per SCSI command, never followed through a symbolic link")
    func debugFile() throws {
        let site = try Site("debug")
        let log = site.path("storage-ctl.log")
        let host = try site.host("cibou", key: "bac001", extra: "debug_log=1\ndebug_file=\(log)")
        umask(0o022)
        #expect(try host.run("lock").status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: log)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains("PERSISTENT RESERVE OUT (RESERVE): cdb [5f 01 03") }, "\(lines)")
        #expect(lines.last?.hasSuffix("\(site.drive) lock: exit 0") == true, "\(lines)")

        // a planted link: the target stays untouched, the command still succeeds, with one warning
        let target = site.path("victim")
        try "precious\n".write(toFile: target, atomically: true, encoding: .utf8)
        let link = site.path("link.log")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linked = try site.host("dir", key: "bac999", extra: "debug_log=1\ndebug_file=\(link)")
        let r = try linked.run("register")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.hasPrefix("storage-ctl: warning: cannot write debug_file \(link): "), "\(r)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
    }

    @Test("no shell or other program is ever started", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "needs strace"))
    func noShell() throws {
        let site = try Site("noshell")
        let host = try site.host("cibou", key: "bac001")
        for verb in ["lock", "query", "status", "unlock", "clear"] {
            let trace = site.path("trace-\(verb)")
            let r = try CLI.run(["-f", "-e", "trace=execve,execveat,fork,vfork", "-o", trace, CLI.binary, "-c", host.conf, site.drive, verb],
                                executable: "/usr/bin/strace")
            #expect(r.status == 0, "\(verb): \(r)")
            let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { !$0.contains("+++ exited") }
            #expect(calls.count == 1 && calls[0].contains("execve(\"\(CLI.binary)\""), "\(verb): \(calls)")
        }
    }

    @Test("--json escapes every string, names with quotes and control characters included")
    func jsonEscapes() throws {
        let site = try Site("jsonesc")
        let host = try site.host("cibou", key: "bac001", extra: "host_bac001=\"say \\\"hi\\\"\\\\ \"")
        #expect(try host.run("register").status == 0)
        let r = try host.run("regkeys", "--json")
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let keys = doc?["keys"] as? [[String: Any]]
        #expect(keys?.first?["name"] as? String == "say \"hi\"\\ ", "\(r)")
    }
}
