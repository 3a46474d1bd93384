import Testing
@testable import StorageCtl
import PRCore

@Suite("Configuration file")
struct ConfigFileTests {
    func parse(_ text: String) throws -> [ConfigFile.Entry] {
        try ConfigFile.parse(text, path: "test.conf").entries
    }

    @Test("the original Bacula file parses as the shell would read it")
    func baculaDefaultFile() throws {
        let text = """
        #
        # This file is sourced by the storage-ctl script every time it runs.
        #
        key=bac001

        # Set to 1 if you want debug info written to a log
        debug_log=0

        # Set to path to your sg_persist program
        SG_PERSIST=/usr/bin/sg_persist
        max_lock_wait=1800
        """
        let entries = try parse(text)
        #expect(entries.map(\.name) == ["key", "debug_log", "SG_PERSIST", "max_lock_wait"])
        #expect(entries.map(\.value) == ["bac001", "0", "/usr/bin/sg_persist", "1800"])
        #expect(entries.map(\.line) == [4, 7, 10, 11])
    }

    @Test("quotes, export, comments and CRLF", arguments: [
        ("key='bac001'", "bac001"),
        ("key=\"bac001\"", "bac001"),
        ("export key=bac001", "bac001"),
        ("  key=bac001   # trailing comment", "bac001"),
        ("key=bac001\r", "bac001"),
        ("host_bac999='dir server'", "dir server"),
        ("host_bac999=\"say \\\"hi\\\"\"", "say \"hi\""),
        ("key=", ""),
        ("key=ba'c0'01", "bac001"),
    ])
    func values(line: String, value: String) throws {
        let entries = try parse(line)
        #expect(entries.count == 1)
        #expect(entries.first?.value == value)
    }

    @Test("malformed lines name the line number", arguments: [
        ("key bac001", "expected NAME=VALUE"),
        ("=bac001", "expected NAME=VALUE"),
        ("1key=bac001", "expected NAME=VALUE"),
        ("key='bac001", "unterminated single quote"),
        ("key=\"bac001", "unterminated double quote"),
        ("key=bac001 extra", "unexpected text after the value; quote values that contain spaces"),
        ("key=$(reboot)", "shell syntax ('$') is not supported; the file is read, not run: write the value itself, in single quotes if it holds such characters"),
        ("key=\"$HOME\"", "shell expansion ('$') is not supported"),
        ("key=a;b", "shell syntax (';') is not supported; the file is read, not run: write the value itself, in single quotes if it holds such characters"),
    ])
    func malformed(line: String, reason: String) {
        #expect(throws: ConfigFile.MalformedLine(line: 3, reason: reason)) {
            _ = try ConfigFile.parse("# one\n\n" + line + "\n", path: "x")
        }
    }

    @Test("settings: values, names and warnings")
    func settings() throws {
        let file = try ConfigFile.parse("""
        key=0xBAC001
        type=ex-ac-ro
        max_lock_wait=2.5
        aptpl=1
        host_bac999=dir
        host_BAC001=cibou
        max_lock_wiat=60
        SG_PERSIST=/usr/bin/sg_persist
        """, path: "s.conf")
        var settings = Settings()
        let warnings = try settings.apply(file)
        #expect(settings.key == ReservationKey(0xbac001))
        #expect(settings.type == .exclusiveAccessRegistrantsOnly)
        #expect(settings.maxLockWait == 2.5)
        #expect(settings.aptpl)
        #expect(settings.label(ReservationKey(0xbac999)) == "0xbac999 (dir)")
        #expect(settings.label(ReservationKey(0xbac001)) == "0xbac001 (cibou)")
        #expect(settings.label(ReservationKey(0x1)) == "0x1")
        #expect(warnings == ["s.conf:7: warning: unknown setting 'max_lock_wiat' ignored; did you mean max_lock_wait?"])
    }

    @Test("bad values are errors naming file:line", arguments: [
        ("key=", "s.conf:1: invalid key '': "),
        ("key=0", "s.conf:1: invalid key '0': zero is not a reservation key"),
        ("key=bac00g", "s.conf:1: invalid key 'bac00g': "),
        ("key=12345678901234567", "s.conf:1: invalid key '12345678901234567': "),
        ("max_lock_wait=-1", "s.conf:1: invalid max_lock_wait '-1': expected a number of seconds, 0 or more"),
        ("max_lock_wait=soon", "s.conf:1: invalid max_lock_wait 'soon'"),
        ("max_lock_wait=1e3", "s.conf:1: invalid max_lock_wait '1e3'"),
        ("max_lock_wait=inf", "s.conf:1: invalid max_lock_wait 'inf'"),
        ("type=2", "s.conf:1: invalid reservation type '2'"),
        ("command_timeout=0", "s.conf:1: invalid command_timeout '0': must be more than 0"),
        ("aptpl=maybe", "s.conf:1: invalid aptpl 'maybe': expected 0 or 1"),
        ("host_xyz=dir", "s.conf:1: invalid key 'xyz'"),
        ("lock_retry_initial=0.0000000001", "s.conf:1: invalid lock_retry_initial '0.0000000001': must be at least 0.001 (1 ms)"),
        ("lock_retry_max=0", "s.conf:1: invalid lock_retry_max '0': must be at least 0.001 (1 ms)"),
    ])
    func badValues(line: String, prefix: String) throws {
        let file = try ConfigFile.parse(line, path: "s.conf")
        var settings = Settings()
        do {
            _ = try settings.apply(file)
            Issue.record("expected an error for \(line)")
        } catch {
            #expect(error.exitCode == .usage)
            #expect(error.message.hasPrefix(prefix), "\(error.message)")
        }
    }

    @Test("output text escapes control characters")
    func escaping() {
        #expect(OutputText.escaped("dir") == "dir")
        #expect(OutputText.escaped("a\nb\u{1b}[31m") == "a\\x0ab\\x1b[31m")
        #expect(OutputText.escaped("back\\slash") == "back\\\\slash")
        #expect(OutputText.escaped("café") == "café")
    }
}
