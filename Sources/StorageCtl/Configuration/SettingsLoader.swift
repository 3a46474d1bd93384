#if canImport(Glibc)
import Glibc
#endif
import PRCore
import Transports
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
        // The path's bytes as given (argv and the environment are bytes; a String would repair them).
        var pathBytes: [UInt8] = []
        var explicit = false
        let candidates = defaultCandidates()
        if let configured = invocation.configPath {
            path = configured; explicit = true
            settings.configChoice = "named by -c (--config)"
            guard let bytes = ArgumentBytes.original(of: configured) else {
                throw .usage(ArgumentBytes.ambiguity("configuration", shown: OutputText.argument(configured)))
            }
            pathBytes = bytes
        } else if let configured = environment("STORAGE_CTL_CONF"), !configured.isEmpty {
            path = configured; explicit = true
            settings.configChoice = "named by $STORAGE_CTL_CONF"
            pathBytes = Posix.environmentBytes("STORAGE_CTL_CONF").flatMap {
                String(decoding: $0, as: UTF8.self) == configured ? $0 : nil
            } ?? Array(configured.utf8)
        } else {
            path = candidates.first(where: Posix.fileExists)
            pathBytes = Array((path ?? "").utf8)
            let list = candidates.map { OutputText.argument($0) }.joined(separator: ", ")
            settings.configChoice = path == nil ? "none of \(list) exists" : "the first of \(list) that exists"
        }
        if let path {
            if path.isEmpty { throw .usage("empty configuration file name") }
            let shown = OutputText.escaped(bytes: pathBytes, limit: OutputText.echoLimit)
            let walked: Posix.WalkedFile
            do throws(Posix.WalkFailure) {
                walked = try Posix.openWalking(pathBytes, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY,
                                               followLastLink: true)
            } catch {
                switch error {
                case .errno(let error):
                    if !explicit && error == .noSuchFileOrDirectory {
                        return try applyOptions(invocation, to: settings, environment: environment)
                    }
                    if error == .permissionDenied {
                        // the manual install and the package both make it root 0644 (README "Install for Bacula")
                        throw .usage("cannot read configuration \(shown): \(error) (it should be root's, mode 0644: "
                                     + "readable by the storage daemon's user, the key is no secret)")
                    }
                    throw .usage("cannot read configuration \(shown): \(error)")
                case .untrustedLink(let why):
                    throw .usage("cannot read configuration \(shown): \(OutputText.escaped(why, limit: 2 * OutputText.echoLimit))")
                case .notRegular(let type):
                    if type == S_IFDIR { throw .usage("cannot read configuration \(shown): \(Errno.isDirectory)") }
                    throw .usage("cannot read configuration \(shown): it is \(Posix.typeName(type)), not a regular file")
                }
            }
            defer { walked.fd.close() }
            let bytes: [UInt8]
            do throws(Errno) {
                guard walked.status.st_mode & S_IFMT == S_IFREG || walked.status.st_mode & S_IFMT == S_IFCHR else {
                    throw walked.status.st_mode & S_IFMT == S_IFDIR ? .isDirectory : .invalidArgument
                }
                bytes = try walked.fd.readAll()
            } catch {
                let why = error == .invalidArgument ? "not a regular file" : error.description
                throw .usage("cannot read configuration \(shown): \(why)")
            }
            settings.configOwnership = ConfigOwnership(uid: walked.status.st_uid, mode: walked.status.st_mode,
                                                       untrustedDirectory: walked.untrustedDirectory)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .usage("\(shown): not a text file (invalid UTF-8)")
            }
            let file: ConfigFile
            do {
                file = try ConfigFile.parse(text, path: path)
            } catch {
                throw .usage("\(shown):\(error.line): \(error.reason)")
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
        if let backend = invocation.backend { settings.backend = try SettingValue.backend(backend, what: "--backend").get() }
        if let initiator = invocation.initiator {
            try Invocation.Option.initiator.validate(initiator)
            settings.initiator = initiator
        }
        if settings.initiator == nil, let fromEnvironment = environment("STORAGE_CTL_INITIATOR"), !fromEnvironment.isEmpty {
            if let problem = SimulatedLU.initiatorNameProblem(fromEnvironment) {
                throw .usage("STORAGE_CTL_INITIATOR: \(problem)")
            }
            settings.initiator = fromEnvironment
        }
        return settings
    }

    /// Which configuration file was read and why that one, for `-v` and the debug log.
    static func traceChoice(_ settings: Settings, _ tracer: CommandTracer) {
        guard tracer.isActive else { return }
        guard let path = settings.configPath, settings.configLoaded else {
            return tracer.note("no configuration file read: \(settings.configChoice)")
        }
        tracer.note("configuration \(OutputText.argument(path)): \(settings.configChoice)")
    }

    /// A command that needs our key found none: say where it looked, so the admin knows which
    /// file to create or fix.
    static func missingKey(_ command: String, _ settings: Settings) -> StorageCtlError {
        if let path = settings.configPath, settings.configLoaded {
            return .usage("\(command) needs our reservation key: set key= in \(OutputText.argument(path)) "
                          + "(unique to this storage daemon) or use --key")
        }
        let searched = defaultCandidates().joined(separator: ", ")
        return .usage("\(command) needs our reservation key: no configuration file found (looked for \(searched)); create one with key=, name one with -c or $STORAGE_CTL_CONF, or use --key")
    }

    /// State-changing commands trust the key in this file, so, as ssh does with its files, refuse
    /// one that someone else could have written: writable by group or others, owned by neither root
    /// nor the caller, or below a directory that someone else could change. Checked on the descriptor
    /// the file was read from (`Settings.configOwnership`), never on the path again: a symbolic link
    /// swapped between the read and a second look must not pass a file nobody checked.
    static func checkOwnership(_ settings: Settings) throws(StorageCtlError) {
        guard let path = settings.configPath, settings.configLoaded, let file = settings.configOwnership else { return }
        let shown = OutputText.escaped(path, limit: OutputText.echoLimit)
        let uid = geteuid()
        if file.uid != 0 && file.uid != uid {
            let owners = uid == 0 ? "root" : "root or uid \(uid), which runs this command"
            throw .usage("\(shown): refusing a configuration owned by uid \(file.uid) (it must be owned by \(owners))")
        }
        if file.mode & 0o022 != 0 {
            throw .usage("\(shown): refusing a configuration writable by group or others (chmod go-w \(shown))")
        }
        if let directory = file.untrustedDirectory {
            let dir = OutputText.escaped(directory, limit: OutputText.echoLimit)
            throw .usage("\(shown): refusing a configuration below \(dir), a directory others can change "
                         + "(it must be owned by root or uid \(uid) and not writable by group or others, or sticky)")
        }
    }
}
