#if canImport(Glibc)
import Glibc
#endif
import PRCore
import ProcessSupport

/// Finds, reads and checks the configuration file, then applies the command-line options.
enum SettingsLoader {
    /// The places searched when neither `-c` nor `$STORAGE_CTL_CONF` names a file.
    static func defaultCandidates() -> [String] {
        var paths: [String] = []
        if let dir = Posix.executableDirectory() { paths.append(dir + "/storage-ctl.conf") }
        paths += ["/opt/bacula/scripts/storage-ctl.conf", "/etc/bacula/storage-ctl.conf"]
        return paths
    }

    static func load(_ invocation: Invocation, environment: (String) -> String?,
                     warn: (String) -> Void) throws(StorageCtlError) -> Settings {
        var settings = Settings()
        var path: String? = nil
        var explicit = false
        if let configured = invocation.configPath {
            path = configured; explicit = true
        } else if let configured = environment("STORAGE_CTL_CONF"), !configured.isEmpty {
            path = configured; explicit = true
        } else {
            path = defaultCandidates().first(where: Posix.fileExists)
        }
        if let path {
            if path.isEmpty { throw .usage("empty configuration file name") }
            let bytes: [UInt8]
            do {
                bytes = try Posix.readFile(path)
            } catch {
                if !explicit && error.errno == ENOENT {
                    return try applyOptions(invocation, to: settings, environment: environment)
                }
                throw .usage("cannot read configuration \(path): \(Posix.errorText(error.errno))")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .usage("\(path): not a text file (invalid UTF-8)")
            }
            let file: ConfigFile
            do {
                file = try ConfigFile.parse(text, path: path)
            } catch {
                throw .usage("\(path):\(error.line): \(error.reason)")
            }
            for warning in try settings.apply(file) { warn(warning) }
            settings.configPath = path
            settings.configLoaded = true
        }
        return try applyOptions(invocation, to: settings, environment: environment)
    }

    static func applyOptions(_ invocation: Invocation, to base: Settings,
                             environment: (String) -> String?) throws(StorageCtlError) -> Settings {
        var settings = base
        if let key = invocation.key { settings.key = try SettingValue.key(key).get() }
        if let type = invocation.type { settings.type = try SettingValue.type(type).get() }
        if let wait = invocation.wait { settings.maxLockWait = try SettingValue.seconds(wait, what: "--wait").get() }
        if let initiator = invocation.initiator {
            if initiator.isEmpty { throw .usage("--initiator: empty name") }
            settings.initiator = initiator
        }
        if settings.initiator == nil, let fromEnvironment = environment("STORAGE_CTL_INITIATOR"), !fromEnvironment.isEmpty {
            settings.initiator = fromEnvironment
        }
        return settings
    }

    /// A command that needs our key found none: say where it looked, so the admin knows which
    /// file to create or fix.
    static func missingKey(_ command: String, _ settings: Settings) -> StorageCtlError {
        if let path = settings.configPath, settings.configLoaded {
            return .usage("\(command) needs our reservation key: set key= in \(path) or use --key")
        }
        let searched = defaultCandidates().joined(separator: ", ")
        return .usage("\(command) needs our reservation key: no configuration file found (looked for \(searched)); create one with key=, name one with -c or $STORAGE_CTL_CONF, or use --key")
    }

    /// State-changing commands trust the key in this file, so, as ssh does with its files, refuse
    /// one that someone else could have written: writable by group or others, or owned by
    /// neither root nor the caller.
    static func checkOwnership(_ settings: Settings) throws(StorageCtlError) {
        guard let path = settings.configPath, settings.configLoaded, let st = Posix.fileStatus(path) else { return }
        let uid = geteuid()
        if st.st_uid != 0 && st.st_uid != uid {
            let owners = uid == 0 ? "root" : "root or uid \(uid), which runs this command"
            throw .usage("\(path): refusing a configuration owned by uid \(st.st_uid) (it must be owned by \(owners))")
        }
        if st.st_mode & 0o022 != 0 {
            throw .usage("\(path): refusing a configuration writable by group or others (chmod go-w \(path))")
        }
    }
}
