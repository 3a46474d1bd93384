import Foundation
import Testing

/// Every bad input gets exactly one line `storage-ctl: ...` on stderr and its documented code.
@Suite("Bad input and exit codes")
struct BadInputTests {
    @Test("usage errors exit 2", arguments: [
        ([String](), "missing DEVICE and COMMAND"),
        (["DRIVE"], "missing COMMAND after DEVICE"),
        (["DRIVE", "frobnicate"], "unknown command 'frobnicate' (try 'storage-ctl --help')"),
        (["lock", "DRIVE"], "unknown command 'DRIVE': DEVICE comes first (storage-ctl DEVICE lock)"),
        (["lock"], "lock: missing DEVICE"),
        (["--bogus", "DRIVE", "query"], "unknown option '--bogus'"),
        (["DRIVE", "query", "extra"], "query: unexpected argument 'extra'"),
        (["DRIVE", "preempt"], "preempt: missing argument (usage: storage-ctl DEVICE preempt KEY [--abort])"),
        (["DRIVE", "lock", "--json"], "--json is not available for lock"),
        (["DRIVE", "lock", "--abort"], "--abort goes with preempt only"),
        (["DRIVE", "lock"], "lock needs our reservation key"),
        (["DRIVE", "lock", "-k", ""], "invalid key ''"),
        (["DRIVE", "lock", "-k", "0"], "zero is not a reservation key"),
        (["DRIVE", "lock", "-k", "0x00"], "zero is not a reservation key"),
        (["DRIVE", "lock", "-k", "bac00g"], "invalid key 'bac00g'"),
        (["DRIVE", "lock", "-k", "12345678901234567"], "invalid key '12345678901234567'"),
        (["DRIVE", "lock", "-k", "bac001", "-t", "2"], "invalid reservation type '2'"),
        (["DRIVE", "lock", "-k", "bac001", "-t", "exclusive"], "invalid reservation type 'exclusive'"),
        (["DRIVE", "lock", "-k", "bac001", "-w", "-5"], "invalid --wait '-5'"),
        (["DRIVE", "lock", "-k", "bac001", "-w", "soon"], "invalid --wait 'soon'"),
        (["DRIVE", "preempt", "xyz", "-k", "bac001"], "invalid key 'xyz'"),
        (["-c", "/nonexistent/storage-ctl.conf", "DRIVE", "query"], "cannot read configuration /nonexistent/storage-ctl.conf: No such file or directory"),
        (["scan", "extra"], "scan takes no arguments"),
        (["--initiator", "iqn.x host", "DRIVE", "regkeys"], "--initiator: invalid initiator name \"iqn.x host\""),
        (["DRIVE", "frobnicate\n2nd line"], "unknown command 'frobnicate\\x0a2nd line'"),
        (["-c", "/nonexistent/a\u{1B}[2J.conf", "DRIVE", "query"], "cannot read configuration /nonexistent/a\\x1b[2J.conf: No such file or directory"),
    ])
    func usage(arguments: [String], message: String) throws {
        let site = try Site("usage")
        let args = arguments.map { $0 == "DRIVE" ? site.drive : $0 }
        let r = try CLI.run(args)
        r.expectOneErrorLine(2, contains: message.replacingOccurrences(of: "'DRIVE'", with: "'\(site.drive)'"))
        #expect(r.stdout.isEmpty)
    }

    @Test("configuration errors name file:line and exit 2", arguments: [
        ("key bac001", ":1: expected NAME=VALUE"),
        ("key=bac001\nmax_lock_wait=-1", ":2: invalid max_lock_wait '-1'"),
        ("key=bac001\nmax_lock_wait=abc", ":2: invalid max_lock_wait 'abc'"),
        ("key=zz", ":1: invalid key 'zz'"),
        ("key='bac001", ":1: unterminated single quote"),
        ("key=bac001\ntype=9", ":2: invalid reservation type '9'"),
        ("key=bac001\ninitiator='iqn.x host'", ":2: initiator: invalid initiator name \"iqn.x host\""),
        ("key=bac001\ndebug_file='/tmp/a\u{0}b'", ":2: debug_file: a path cannot contain a NUL byte"),
        ("key=bac001\nmax_lock_wait='1\u{1B}[31m'", ":2: invalid max_lock_wait '1\\x1b[31m'"),
    ])
    func badConfig(text: String, message: String) throws {
        let site = try Site("conf")
        let conf = site.path("bad.conf")
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let r = try CLI.run(["-c", conf, site.drive, "query"])
        r.expectOneErrorLine(2, contains: conf + message)
    }

    @Test("unknown names in the configuration warn but do not fail")
    func unknownName() throws {
        let site = try Site("warn")
        let conf = site.path("w.conf")
        try "key=bac001\nmax_lock_wiat=60\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let r = try CLI.run(["-c", conf, site.drive, "register"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "storage-ctl: \(conf):2: warning: unknown setting 'max_lock_wiat' ignored; did you mean max_lock_wait?\n", "\(r)")
    }

    @Test("a configuration others can write is refused for state-changing commands")
    func insecureConfig() throws {
        let site = try Site("perm")
        let conf = site.path("p.conf")
        try "key=bac001\n".write(toFile: conf, atomically: true, encoding: .utf8)
        chmod(conf, 0o666)
        var r = try CLI.run(["-c", conf, site.drive, "lock"])
        r.expectOneErrorLine(2, contains: "refusing a configuration writable by group or others")
        r = try CLI.run(["-c", conf, site.drive, "regkeys"])   // read-only commands still work
        #expect(r.status == 0, "\(r)")
    }

    @Test("device errors exit 3", arguments: [
        ("*None*", "*None*: no Control Device configured"),
        ("MISSING", "MISSING: "),
        ("DIR", "DIR: "),
        ("CORRUPT", "CORRUPT: "),
        ("FOREIGN", "FOREIGN: "),
    ])
    func deviceErrors(device: String, message: String) throws {
        let site = try Site("dev")
        var path = device
        switch device {
        case "MISSING": path = site.path("no-such-drive")
        case "DIR": path = site.dir.path
        case "CORRUPT":
            path = site.path("corrupt")
            #expect(try CLI.run([path, "create"]).status == 0)
            #expect(try CLI.run([path, "register", "-k", "bac001"]).status == 0)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for i in 0..<bytes.count where i >= 16 { bytes[i] ^= 0x5A }
            try bytes.write(to: URL(fileURLWithPath: path))
        case "FOREIGN":
            path = site.path("foreign")
            try "this is not a drive\n".write(toFile: path, atomically: true, encoding: .utf8)
        default: break
        }
        let before = try? Data(contentsOf: URL(fileURLWithPath: path))
        let r = try CLI.run([path, "regkeys"])
        r.expectOneErrorLine(3, contains: message.replacingOccurrences(of: device, with: path))
        if device == "CORRUPT" || device == "FOREIGN" {
            #expect((try? Data(contentsOf: URL(fileURLWithPath: path))) == before, "a bad file must never be reset")
        }
    }

    @Test("--help and --version")
    func helpAndVersion() throws {
        var r = try CLI.run(["--help"])
        #expect(r.status == 0 && r.stdout.hasPrefix("usage: storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]") && r.stderr.isEmpty)
        for verb in ["register", "unregister", "lock", "trylock", "unlock", "query", "regkeys", "wholocked", "clear",
                     "status", "preempt KEY [--abort]", "reserve", "release", "caps", "audit", "scan"] {
            #expect(r.stdout.contains("\n  \(verb) "), "help lacks \(verb)")
        }
        r = try CLI.run(["--version"])
        #expect(r.status == 0 && r.stdout.hasPrefix("storage-ctl "))
    }
}

/// Every `--json` output is one document that parses.
@Suite("JSON output")
struct JSONOutputTests {
    @Test("query, regkeys, wholocked, status, caps, audit and scan parse as JSON")
    func parses() throws {
        let site = try Site("json")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try cibou.run("register").status == 0)
        #expect(try dir.run("lock").status == 0)

        func object(_ r: CLI.Result) throws -> [String: Any] {
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
            return try #require(doc as? [String: Any], "\(r)")
        }
        var r = try cibou.run("query", "--json")
        #expect(r.status == 0, "\(r)")
        var doc = try object(r)
        #expect(doc["product"] as? String == "SIM TAPE")
        #expect(doc["peripheral_type"] as? String == "tape")
        let regs = try #require(doc["registrations"] as? [[String: Any]])
        #expect(regs.map { $0["key"] as? String } == ["0xbac001", "0xbac999"])
        #expect(regs.map { $0["name"] as? String } == ["cibou", "dir"])
        #expect(regs.map { $0["holder"] as? Bool } == [false, true])
        let reservation = try #require(doc["reservation"] as? [String: Any])
        #expect(reservation["type"] as? Int == 3)

        doc = try object(try cibou.run("regkeys", "--json"))
        #expect((doc["keys"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == ["0xbac001", "0xbac999"])
        doc = try object(try cibou.run("wholocked", "--json"))
        #expect(doc["locked"] as? Bool == true)
        #expect((doc["holders"] as? [[String: Any]])?.first?["name"] as? String == "dir")
        doc = try object(try cibou.run("status", "--json"))
        #expect(doc["registered"] as? Bool == true && doc["locked"] as? Bool == false)
        #expect((doc["blocked_by"] as? [String: Any])?["key"] as? String == "0xbac999")
        doc = try object(try cibou.run("caps", "--json"))
        #expect(doc["persist_through_power_loss_capable"] as? Bool == true)
        #expect((doc["types"] as? [[String: Any]])?.count == 6)
        r = try cibou.run("audit", "--json")
        #expect(r.status == 0, "\(r)")
        doc = try object(r)
        #expect((doc["unknown"] as? [Any])?.isEmpty == true)
        r = try CLI.run(["scan", "--json"])
        #expect(r.status == 0, "\(r)")
        doc = try object(r)
        #expect(doc["devices"] is [Any])
    }
}
