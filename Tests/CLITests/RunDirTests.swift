import Foundation
import Glibc
import Testing

private let canActAsNobody = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

/// Lock records only where no other user can create the directory first; when there is none, status,
/// drives and check say that hold ages and fairness are off (`mkdir -m700
/// /tmp/storage-ctl-65534` by another user used to switch a non-root daemon's records off silently).
@Suite("run_dir: records where nobody else can plant the directory")
struct RunDirTests {
    /// Runs storage-ctl as nobody (uid 65534, home /nonexistent) with `env` (no $STORAGE_CTL_RUN_DIR).
    static func asNobody(_ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary, "-k", "bac002",
                     "--initiator", "iqn.2024-01.com.example:nobody"] + args,
                    env: ["STORAGE_CTL_RUN_DIR": ""].merging(env) { $1 }, executable: "/usr/bin/setpriv")
    }

    static func site(_ name: String) throws -> Site {
        let site = try Site(name)
        chmod(site.dir.path, 0o755)
        chmod(site.drive, 0o666)
        return site
    }

    @Test("nobody without a runtime directory: no /tmp fallback; status and check say records are off",
          .enabled(if: canActAsNobody, "needs root and setpriv to act as an unprivileged user"))
    func noPrivateDirectory() throws {
        let site = try Self.site("rundir-none")
        // the attack: another user makes the old fallback first; it is no longer used at all
        let planted = "/tmp/storage-ctl-65534"
        let plantedBefore = FileManager.default.fileExists(atPath: planted)
        if !plantedBefore { #expect(mkdir(planted, 0o700) == 0) }
        defer { if !plantedBefore { rmdir(planted) } }
        let note = "storage-ctl: \(site.drive): note: hold ages (heldfor) and fairness are off: no run_dir: not root, "
            + "and no $XDG_RUNTIME_DIR, /run/user/65534 or home directory of ours (set run_dir= or $STORAGE_CTL_RUN_DIR)\n"
        #expect(try Self.asNobody([site.drive, "trylock"]).status == 0)
        var r = try Self.asNobody([site.drive, "status"])
        #expect(r.status == 0 && r.stdout == "key=0xbac002 registered=1 locked=1 blockedby=no\n" && r.stderr == note, "\(r)")
        r = try Self.asNobody([site.drive, "status"], env: ["XDG_RUNTIME_DIR": planted])   // not ours: not used
        #expect(r.status == 0 && r.stderr == note, "\(r)")

        let sd = site.path("sd.conf")
        try "Device {\n  Name = Drive0\n  Archive Device = /dev/nst0\n  Control Device = \"\(site.drive)\"\n}\n"
            .write(toFile: sd, atomically: true, encoding: .utf8)
        chmod(sd, 0o644)
        r = try Self.asNobody(["-C", sd, "check", "--held-warning", "60"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.hasPrefix("STORAGE-CTL WARNING - hold ages (heldfor) and fairness are off: no run_dir: "), "\(r)")
        r = try Self.asNobody(["-C", sd, "check"])
        #expect(r.status == 0 && r.stdout.hasSuffix("\nhold ages (heldfor) and fairness are off: no run_dir: not root, and no "
                + "$XDG_RUNTIME_DIR, /run/user/65534 or home directory of ours (set run_dir= or $STORAGE_CTL_RUN_DIR)\n"), "\(r)")
        r = try Self.asNobody(["-C", sd, "drives"])
        #expect(r.status == 0 && r.stderr.hasPrefix("storage-ctl: hold ages (heldfor) and fairness are off: no run_dir"), "\(r)")
    }

    @Test("nobody with its own runtime directory keeps records there: heldfor, no note",
          .enabled(if: canActAsNobody, "needs root and setpriv to act as an unprivileged user"))
    func ownRuntimeDirectory() throws {
        let site = try Self.site("rundir-xdg")
        let xdg = site.path("xdg")
        #expect(mkdir(xdg, 0o700) == 0 && chown(xdg, 65534, 65534) == 0)
        #expect(try Self.asNobody([site.drive, "trylock"], env: ["XDG_RUNTIME_DIR": xdg]).status == 0)
        let r = try Self.asNobody([site.drive, "status"], env: ["XDG_RUNTIME_DIR": xdg])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(r.stdout.wholeMatch(of: /key=0xbac002 registered=1 locked=1 blockedby=no heldfor=\d+\n/) != nil, "\(r)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: xdg + "/storage-ctl").count == 1)
    }

    @Test("a run_dir owned by another user or writable by others: status says records are off")
    func unusableRunDir() throws {
        let site = try Site("rundir-bad")
        let cibou = try site.host("cibou", key: "bac001")
        let open = site.path("open")
        #expect(mkdir(open, 0o700) == 0 && chmod(open, 0o777) == 0)
        let r = try cibou.run("status", env: ["STORAGE_CTL_RUN_DIR": open])
        #expect(r.status == 0 && r.stdout == "key=0xbac001 registered=0 locked=0 blockedby=no name=cibou\n", "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): note: hold ages (heldfor) and fairness are off: run_dir \(open) "
                + "is writable by group or others\n", "\(r)")
        if getuid() == 0 {
            #expect(chmod(open, 0o700) == 0 && chown(open, 65534, 65534) == 0)
            let other = try cibou.run("status", env: ["STORAGE_CTL_RUN_DIR": open])
            #expect(other.stderr == "storage-ctl: \(site.drive): note: hold ages (heldfor) and fairness are off: run_dir "
                    + "\(open) is owned by uid 65534, not 0\n", "\(other)")
        }
    }
}
