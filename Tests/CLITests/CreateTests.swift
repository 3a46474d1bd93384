import Foundation
import Glibc
import Testing

/// A simulated drive comes into being only when asked (`storage-ctl FILE create`); no other command
/// writes an empty file, and a file of a kernel file system is never a drive nor a debug_file (issue 17,
/// item 1: `query` on /proc/sys/kernel/hostname used to make it a drive and rename the host).
@Suite("create: drives made on purpose, nothing written elsewhere")
struct CreateTests {
    /// The bytes and the modification time of `path`: what "nothing was written" compares.
    static func snapshot(_ path: String) -> ([UInt8], timespec) {
        var info = stat()
        precondition(stat(path, &info) == 0, "stat \(path)")
        return ([UInt8](FileManager.default.contents(atPath: path) ?? Data()), info.st_mtim)
    }

    static func same(_ a: ([UInt8], timespec), _ b: ([UInt8], timespec)) -> Bool {
        a.0 == b.0 && a.1.tv_sec == b.1.tv_sec && a.1.tv_nsec == b.1.tv_nsec
    }

    @Test("every command but create refuses an empty file with one line, exit 3, and writes nothing")
    func emptyFileIsNotADrive() throws {
        let site = try Site("create-empty")
        let cibou = try site.host("cibou", key: "bac001")
        let empty = site.path("empty")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let before = Self.snapshot(empty)
        let line = "storage-ctl: \(empty): an empty file, not a simulated drive; nothing was written (storage-ctl DEVICE create makes one)\n"
        for verb in ["status", "query", "regkeys", "wholocked", "caps", "audit", "register", "trylock", "lock", "unlock", "clear"] {
            let r = try CLI.run(["-c", cibou.conf, empty, verb], env: ["STORAGE_CTL_RUN_DIR": site.runDirectory])
            #expect(r.status == 3 && r.stdout.isEmpty && r.stderr == line, "\(verb): \(r)")
        }
        #expect(Self.same(Self.snapshot(empty), before), "the empty file was written")

        // drives and check: the same line in the drive's row, nothing written
        let sd = site.path("sd.conf")
        try "Device {\n  Name = Drive0\n  Archive Device = /dev/nst0\n  Control Device = \"\(empty)\"\n}\n"
            .write(toFile: sd, atomically: true, encoding: .utf8)
        let drives = try CLI.run(["-c", cibou.conf, "-C", sd, "drives"], env: ["STORAGE_CTL_RUN_DIR": site.runDirectory])
        #expect(drives.status == 3 && drives.stdout.contains("an empty file, not a simulated drive"), "\(drives)")
        let check = try CLI.run(["-c", cibou.conf, "-C", sd, "check"], env: ["STORAGE_CTL_RUN_DIR": site.runDirectory])
        #expect(check.status != 0 && check.stdout.contains("an empty file, not a simulated drive"), "\(check)")
        #expect(Self.same(Self.snapshot(empty), before), "drives or check wrote the empty file")
    }

    @Test("create makes a missing or empty file a drive, keeps a drive, refuses a device node")
    func createIsTheOnlyWay() throws {
        let site = try Site("create")
        let fresh = site.path("fresh")
        var r = try CLI.run([fresh, "create"])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        let made = Self.snapshot(fresh)
        #expect(made.0.count == 135_168 && made.0.starts(with: Array("STCTLSIM".utf8)))
        var info = stat()
        #expect(stat(fresh, &info) == 0 && info.st_mode & 0o007 == 0)
        r = try CLI.run([fresh, "regkeys"])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")

        // an existing drive is kept: state, bytes and mtime
        let cibou = try site.host("cibou", key: "bac001")
        #expect(try cibou.run("register").status == 0)
        let registered = Self.snapshot(site.drive)
        r = try CLI.run([site.drive, "create"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(Self.same(Self.snapshot(site.drive), registered))
        #expect(try cibou.run("regkeys").stdout == "0xbac001\n")

        r = try CLI.run(["/dev/null", "create"])
        #expect(r.status == 3 && r.stderr == "storage-ctl: /dev/null: create makes simulated drives in regular files only; this is not one\n", "\(r)")
        let foreign = site.path("foreign")
        try "not a drive\n".write(toFile: foreign, atomically: true, encoding: .utf8)
        let before = Self.snapshot(foreign)
        r = try CLI.run([foreign, "create"])
        #expect(r.status == 3 && r.stderr == "storage-ctl: \(foreign): not a storage-ctl simulated LU (unrecognised format)\n", "\(r)")
        #expect(Self.same(Self.snapshot(foreign), before))
    }

    @Test("a file of a kernel file system is never a drive, nor a debug_file; nothing is written")
    func kernelFilesAreNeverWritten() throws {
        let site = try Site("create-proc")
        // The CLI's own /proc/self/comm: writable by it, size 0 while it holds the process name.
        let comm = "/proc/self/comm"
        let line = "storage-ctl: \(comm): a file of the kernel's proc file system, never a simulated drive; nothing was written\n"
        for verb in ["query", "status", "create"] {
            let r = try CLI.run(["-k", "bac001", comm, verb])
            #expect(r.status == 3 && r.stdout.isEmpty && r.stderr == line, "\(verb): \(r)")
        }
        let hostname = "/proc/sys/kernel/hostname"
        let name = Self.snapshot(hostname).0
        let r = try CLI.run([hostname, "query"])
        #expect(r.status == 3 && r.stderr.hasSuffix("never a simulated drive; nothing was written\n"), "\(r)")
        #expect(Self.snapshot(hostname).0 == name)

        // debug_file=/proc/self/comm: one warning, the command goes on, the process name is untouched
        let cibou = try site.host("cibou", key: "bac001", extra: "debug_log=1\ndebug_file=/proc/self/comm")
        let d = try cibou.run("register")
        #expect(d.status == 0 && d.stderr == "storage-ctl: warning: cannot write debug_file /proc/self/comm: it is a "
                + "file of the kernel's proc file system, not a log file; no debug log for this run\n", "\(d)")
    }

    /// `drives` and `check` only ever read: a Control Device that is an empty file, or a kernel file (a planted
    /// bacula-sd.conf once made `check` say OK and rewrite the domain name), is a drive that cannot be asked.
    @Test("drives and check on a Control Device that is an empty file or a kernel file: a failing row, nothing written")
    func surveysNeverWrite() throws {
        let site = try Site("create-survey")
        let empty = site.path("empty-drive")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let sd = site.path("bacula-sd.conf")
        try """
            Storage {
              Name = cibou-sd
              Working Directory = /tmp
            }
            Device {
              Name = Empty
              Archive Device = /dev/nst0
              Control Device = "\(empty)"
            }
            Device {
              Name = Kernel
              Archive Device = /dev/nst1
              Control Device = /proc/self/comm
            }

            """.write(toFile: sd, atomically: false, encoding: .utf8)
        let r = try CLI.run(["-k", "bac001", "-C", sd, "check"])
        #expect(r.status == 2 && r.stdout.hasPrefix("STORAGE-CTL CRITICAL - "), "\(r)")
        #expect(r.stdout.contains("\(empty): an empty file, not a simulated drive"), "\(r)")
        #expect(r.stdout.contains("/proc/self/comm: a file of the kernel's proc file system, never a simulated drive; nothing was written"), "\(r)")
        let d = try CLI.run(["-k", "bac001", "-C", sd, "drives"])
        #expect(d.status == 3 && d.stdout.contains("an empty file, not a simulated drive")
                && d.stdout.contains("never a simulated drive; nothing was written"), "\(d)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty, "a survey wrote the empty file")
    }
}
